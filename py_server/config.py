"""Configuration, read once from the environment (and a `.env` file if present).

Every process of the store reads the variables documented in `.env.example`;
command-line flags may override some of them. A required setting that is
missing stops start-up with a sentence that names it.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib

from dotenv import find_dotenv, load_dotenv

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


class ConfigError(SystemExit):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str
    state_dir: pathlib.Path
    database_url: str
    kafka_bootstrap: str | None
    kafka_topic: str
    db_addr: str
    log_addr: str
    db_bind: str
    log_bind: str
    service_token: str | None
    bcrypt_rounds: int
    db_pool_size: int
    grpc_workers: int

    @property
    def production(self) -> bool:
        return self.env == "production"

    def require_production_database(self) -> None:
        """The DB service's start-up check: production refuses the embedded SQLite fallback.

        (Only the DB service opens the database, so only it makes this check.)
        """
        if self.production and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "MERCH_DATABASE_URL must be a postgresql:// URL when MERCH_ENV=production "
                "(for example postgresql://merch:secret@db:5432/merch); "
                "the embedded SQLite file is a dev convenience"
            )

    @property
    def log_file(self) -> pathlib.Path:
        return self.state_dir / "logs.jsonl"


def _int(environ: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Reads the settings; `environ` replaces os.environ (and .env) in tests."""
    if environ is None:
        load_dotenv(find_dotenv(usecwd=True), override=False)
        environ = dict(os.environ)
    env = environ.get("MERCH_ENV", "dev").strip() or "dev"
    if env not in ("dev", "production"):
        raise ConfigError(f"MERCH_ENV must be 'dev' or 'production', got {env!r}")
    state_dir = pathlib.Path(environ.get("MERCH_STATE_DIR") or REPO_ROOT / ".merch").resolve()
    database_url = environ.get("MERCH_DATABASE_URL", "").strip() or f"sqlite:///{state_dir / 'merch.sqlite3'}"
    return Settings(
        env=env,
        state_dir=state_dir,
        database_url=database_url,
        kafka_bootstrap=environ.get("MERCH_KAFKA_BOOTSTRAP", "").strip() or None,
        kafka_topic=environ.get("MERCH_KAFKA_TOPIC", "").strip() or "log-channel",
        db_addr=environ.get("MERCH_DB_ADDR", "").strip() or "127.0.0.1:50051",
        log_addr=environ.get("MERCH_LOG_ADDR", "").strip() or "127.0.0.1:50052",
        db_bind=environ.get("MERCH_DB_BIND", "").strip() or "127.0.0.1:50051",
        log_bind=environ.get("MERCH_LOG_BIND", "").strip() or "127.0.0.1:50052",
        service_token=environ.get("MERCH_SERVICE_TOKEN", "").strip() or None,
        bcrypt_rounds=_int(environ, "MERCH_BCRYPT_ROUNDS", 12, 4, 16),
        db_pool_size=_int(environ, "MERCH_DB_POOL_SIZE", 16, 1, 256),
        grpc_workers=_int(environ, "MERCH_GRPC_WORKERS", 16, 1, 256),
    )
