"""The DB service: products, users and orders over gRPC, on SQLite or PostgreSQL."""
