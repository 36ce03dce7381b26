"""Configuration, read once from the environment (and a `.env` file if present).

Every process of the store reads the variables documented in `.env.example`;
command-line flags may override some of them. A required setting that is
missing stops start-up with a sentence that names it.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets

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
    service_token: str
    bcrypt_rounds: int
    db_pool_size: int
    grpc_workers: int
    db_processes: int

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

    def db_workers_per_process(self, processes: int) -> int:
        """MERCH_GRPC_WORKERS is the DB service's total: its processes share it out (at least 2 each)."""
        return max(2, -(-self.grpc_workers // processes))

    def require_pool_for_workers(self, workers: int) -> None:
        """The DB service's start-up check: each worker thread keeps a connection, the health check needs one."""
        if self.db_pool_size < workers + 1:
            raise ConfigError(
                f"MERCH_DB_POOL_SIZE ({self.db_pool_size}) must be at least the worker threads of a DB-service "
                f"process + 1 ({workers + 1}): each keeps one connection, and the health check needs one more; "
                "lower MERCH_GRPC_WORKERS, raise MERCH_DB_PROCESSES or raise MERCH_DB_POOL_SIZE"
            )

    @property
    def log_file(self) -> pathlib.Path:
        return self.state_dir / "logs.jsonl"


MIN_SECRET_LENGTH = 32
SERVICE_TOKEN_FILE = "service_token"
# Files of the state folder that hold secrets or user data: private to their owner.
PRIVATE_FILES = ("merch.sqlite3", "merch.sqlite3-wal", "merch.sqlite3-shm", "logs.jsonl", "jwt_secret",
                 SERVICE_TOKEN_FILE)


def prepare_state_dir(state_dir: pathlib.Path) -> None:
    """Makes the state folder private (0700) and every file it creates from now on 0600.

    Files made by an older version with wider modes are narrowed too. Each
    process of the store calls this once at start-up.
    """
    os.umask(0o077)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    state_dir.chmod(0o700)
    for name in PRIVATE_FILES:
        try:
            (state_dir / name).chmod(0o600)
        except FileNotFoundError:
            pass


def dev_secret(state_dir: pathlib.Path, name: str, variable: str) -> str:
    """The dev secret in `state_dir/name`, created once (0600) if absent.

    Creation is atomic: the secret is written to a private temporary file and
    hard-linked into place, so concurrent processes agree on one secret and
    none ever reads a half-written file. `variable` names the setting that
    overrides it, for the error message.
    """
    path = state_dir / name
    try:
        return _read_secret(path, variable)
    except FileNotFoundError:
        pass
    prepare_state_dir(state_dir)
    temporary = state_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path, variable)


def _read_secret(path: pathlib.Path, variable: str) -> str:
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds no usable secret; delete it to have a new one generated, "
                          f"or set {variable}")
    return secret


def _service_token(environ: dict[str, str], env: str, state_dir: pathlib.Path) -> str:
    token = environ.get("MERCH_SERVICE_TOKEN", "").strip()
    if token:
        if len(token) < 16:
            raise ConfigError(f"MERCH_SERVICE_TOKEN must be at least 16 characters; it has {len(token)}")
        return token
    if env == "production":
        raise ConfigError(
            "MERCH_SERVICE_TOKEN is required when MERCH_ENV=production: set it to at least 32 random "
            "characters, the same for every process of the store (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    return dev_secret(state_dir, SERVICE_TOKEN_FILE, "MERCH_SERVICE_TOKEN")


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
    workers = _int(environ, "MERCH_GRPC_WORKERS", 16, 1, 256)
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
        service_token=_service_token(environ, env, state_dir),
        bcrypt_rounds=_int(environ, "MERCH_BCRYPT_ROUNDS", 12, 4, 16),
        db_pool_size=_int(environ, "MERCH_DB_POOL_SIZE", workers + 1, 2, 257),
        grpc_workers=workers,
        # DB-service processes sharing its port (SO_REUSEPORT): one per core unless set.
        db_processes=_int(environ, "MERCH_DB_PROCESSES", os.cpu_count() or 1, 1, 64),
    )
