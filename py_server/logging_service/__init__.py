"""The logging service: collects log records over a client stream, publishes them
to Kafka (or a JSONL file), and lets anyone follow them over a server stream."""
