"""The store's data: peewee models and the operations on them (no gRPC here)."""
