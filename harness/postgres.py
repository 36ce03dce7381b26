"""A PostgreSQL server from Debian's packages on loopback, started and stopped with its own pg_ctl.

pg_ctl -w waits until the server accepts connections and `pg_ctl stop` signals the postmaster by the
pid it recorded in postmaster.pid. Authentication is `trust` on loopback only: a local throwaway,
never a deployment. As root, the server runs as the `postgres` system user (it refuses root).
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import uuid

USER = "merch"
DATABASE = "merch"


def bin_dir() -> pathlib.Path:
    """The newest installed PostgreSQL's bin folder."""
    dirs = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not dirs:
        raise RuntimeError("PostgreSQL is not installed: `make setup` installs Debian's packages")
    return dirs[-1]


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


class Postgres:
    """One server: data in `data_dir` (kept between starts), listening on 127.0.0.1:`port`."""

    def __init__(self, data_dir: pathlib.Path, port: int, *, fsync: bool = True, max_connections: int = 200,
                 preload: str = ""):
        self.data_dir = pathlib.Path(data_dir).absolute()
        self.port = port
        self.options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.data_dir} " \
                       f"-c max_connections={max_connections} -c fsync={'on' if fsync else 'off'}"
        if preload:
            self.options += f" -c shared_preload_libraries={preload}"
        self.url = f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), *args])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        if check and result.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[0] if args else ''} failed: {result.stderr.strip()[-2000:]}")
        return result

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists() and self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> str:
        """Initialises the folder on first use, starts the server unless it runs, makes the database; the URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:  # the postgres user must own its folder and reach it
            shutil.chown(self.data_dir, "postgres", "postgres")
            self.data_dir.chmod(0o700)
            self.data_dir.parent.chmod(self.data_dir.parent.stat().st_mode | 0o001)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(_as_owner([str(bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", USER, "--auth=trust",
                                      "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True, timeout=180)
        if not self.running():
            self._pg_ctl("-w", "-t", "60", "-l", str(self.data_dir / "server.log"), "-o", self.options, "start")
        exists = subprocess.run([str(bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
                                 "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                                capture_output=True, text=True, check=True, timeout=60).stdout.strip()
        if exists != "1":
            subprocess.run([str(bin_dir() / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE],
                           check=True, capture_output=True, timeout=60)
        return self.url

    def stop(self) -> None:
        """Fast shutdown (pg_ctl signals the postmaster's own pid); nothing to do when it is not running."""
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop", check=False)

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        return None

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        import psycopg2

        name = f"t_{uuid.uuid4().hex[:12]}"
        with contextlib.closing(psycopg2.connect(self.url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name
