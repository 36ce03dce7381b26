"""The gateway's configuration, read once at start-up.

The settings every process shares (state folder, service addresses, service
token, MERCH_ENV) come from py_server.config; this module adds the gateway's
own. A setting that is missing or malformed stops start-up with a sentence
that names it.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib

from py_server import config
from py_server.config import ConfigError

from api_rest import auth


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    shared: config.Settings
    bind: str
    db_addr: str
    log_addr: str
    service_token: str | None
    jwt_secret: str
    jwt_ttl_seconds: int
    grpc_timeout_seconds: float
    workers: int
    threads: int
    log_shipping: bool = True

    @property
    def production(self) -> bool:
        return self.shared.production


def _number(environ, name: str, default, low, high, kind=int):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {raw}")
    return value


def load(environ: dict[str, str] | None = None) -> GatewaySettings:
    """Reads the settings; `environ` replaces os.environ (and .env) in tests.

    In dev, a missing MERCH_JWT_SECRET is generated once into the state folder
    (so every gateway process and restart shares it); in production it is required.
    """
    if environ is None:
        shared = config.load_settings()  # also loads .env into os.environ
        environ = dict(os.environ)
    else:
        shared = config.load_settings(environ)
    secret = environ.get("MERCH_JWT_SECRET", "").strip()
    if secret:
        auth.check_secret(secret)
    elif shared.production:
        raise ConfigError(
            "MERCH_JWT_SECRET is required when MERCH_ENV=production: set it to at least 32 random "
            "characters, the same for every gateway replica (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    else:
        secret = auth.dev_secret(pathlib.Path(shared.state_dir))
    return GatewaySettings(
        shared=shared,
        bind=environ.get("MERCH_REST_BIND", "").strip() or "127.0.0.1:5000",
        db_addr=shared.db_addr,
        log_addr=shared.log_addr,
        service_token=shared.service_token,
        jwt_secret=secret,
        jwt_ttl_seconds=_number(environ, "MERCH_JWT_TTL_SECONDS", 3600, 60, 30 * 24 * 3600),
        grpc_timeout_seconds=_number(environ, "MERCH_GRPC_TIMEOUT_SECONDS", 5.0, 0.05, 300.0, float),
        workers=_number(environ, "MERCH_REST_WORKERS", os.cpu_count() or 1, 1, 64),
        threads=_number(environ, "MERCH_REST_THREADS", 4, 1, 256),
        log_shipping=_switch(environ, "MERCH_LOG_SHIPPING", default=True),
    )


def _switch(environ, name: str, *, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigError(f"{name} must be 'on' or 'off', got {raw!r}")
    return raw == "on"
