"""gRPC client channels to the store's services, with round-robin over replicas.

`MERCH_DB_ADDR=127.0.0.1:50051,127.0.0.1:50061` becomes one channel that
balances calls over both addresses and reconnects to a replica that returns.
"""
from __future__ import annotations

import json

import grpc

_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    # Transparent retries of calls that never reached a replica (e.g. one just went away).
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
})


def target(addresses: str) -> str:
    """`host:port[,host:port…]` as a gRPC target; several addresses use the static ipv4/ipv6 resolver."""
    parts = [a.strip() for a in addresses.split(",") if a.strip()]
    if not parts:
        raise ValueError("an address list must name at least one host:port")
    if len(parts) == 1:
        return parts[0]
    scheme = "ipv6" if parts[0].startswith("[") else "ipv4"
    return f"{scheme}:{','.join(parts)}"


def open_channel(addresses: str, *, retry_unavailable: bool = False) -> grpc.Channel:
    """A channel over every address in the list, round-robin.

    Retrying UNAVAILABLE is only safe for calls that may be repeated; it is
    off unless asked for (PlaceOrder is not idempotent).
    """
    config = json.loads(_SERVICE_CONFIG)
    if not retry_unavailable:
        config.pop("methodConfig")
    return grpc.insecure_channel(
        target(addresses),
        options=[
            ("grpc.service_config", json.dumps(config)),
            ("grpc.enable_retries", 1 if retry_unavailable else 0),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )
