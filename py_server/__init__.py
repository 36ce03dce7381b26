"""The SUSTech Merch Store's Python gRPC services and what they share."""
