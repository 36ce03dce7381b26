"""`make run`: the logging service (JSONL file), the DB service (SQLite) and the REST gateway, in the foreground.

Settings come from the environment and `.env` (the environment winning), read by the code every process
uses. A taken address stops it before anything starts; a service counts as ready only when the process
this run started listens on its address and answers healthy; a service that exits stops the rest, and the
run exits 1 with that service's last line. Ctrl-C (exit 130) or SIGTERM (143) stops every process it
started, by pid, last first. Each service's output goes to the terminal and to $MERCH_STATE_DIR/run/<name>.log.
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time

from harness import signals
from harness.procs import Died, NotReady
from harness.services import Group, python_module
from py_server import config, devrun

_write_lock = threading.Lock()


def out(text: str | bytes, err: bool = False) -> None:
    """One whole line to the terminal; service output and the run's own lines never interleave mid-line."""
    data = text if isinstance(text, bytes) else (text + "\n").encode()
    stream = sys.stderr if err else sys.stdout
    with _write_lock:
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()


def last_line(log_text: str) -> str:
    """The exception line of the log's last traceback, else its last line."""
    exception, last, in_traceback = "", "", False
    for line in log_text.splitlines():
        if line.startswith("Traceback "):
            in_traceback, exception = True, ""
        elif in_traceback and re.match(r"^[A-Za-z_][A-Za-z0-9_.]*(: |$)", line):
            exception = line
        if line.strip():
            last = line
    return exception or last


def main() -> int:
    try:
        settings = config.load_settings()  # loads .env into os.environ, the environment winning
    except config.ConfigError as error:
        out(str(error), err=True)
        return 1
    env = {**os.environ, **devrun.shell_settings(settings, dict(os.environ))}
    timeout = float(env["MERCH_START_TIMEOUT"])
    db, log, rest = (devrun.connectable(env[name]) for name in ("MERCH_DB_BIND", "MERCH_LOG_BIND", "MERCH_REST_BIND"))
    # This run's processes talk to each other, never to another instance elsewhere.
    for name, address in (("MERCH_DB_ADDR", db), ("MERCH_LOG_ADDR", log)):
        if env[name] != address:
            out(f"note: {name} is {env[name]}, but this run's service listens on {address}; clients that read "
                f"{name} (merchctl) will not reach it", err=True)
        env[name] = address
    if devrun.main(["free", *(f"{name}={env[name]}" for name in ("MERCH_LOG_BIND", "MERCH_DB_BIND",
                                                                   "MERCH_REST_BIND"))]) != 0:
        return 1

    group = Group(settings.state_dir / "run", echo=lambda _name, line: out(line))
    services = [("logging-service", "logging service", log,
                 python_module("py_server.logging_service", "--bind", env["MERCH_LOG_BIND"])),
                ("db-service", "DB service", db, python_module("py_server.db_service", "--bind", env["MERCH_DB_BIND"])),
                ("rest-gateway", "REST gateway", f"http://{rest}/healthz",
                 python_module("api_rest", "--bind", env["MERCH_REST_BIND"]))]
    labels = {name: label for name, label, _, _ in services}
    with signals.stop_on_signals() as stopped:
        try:
            for name, label, target, argv in services:
                proc = group.launch(name, argv, env)
                try:
                    proc.wait_serving(target, label, timeout)
                except Died:
                    return died(group, name, label, " during start-up")
                except NotReady:
                    out(f"{label} (pid {proc.pid}) did not become healthy at {target} within {timeout:.0f}s; "
                        f"see {proc.log_path}", err=True)
                    return 1
                out(f"{label} ready at {target} (pid {proc.pid})")
            out(f"The store is running: REST on http://{rest} (Swagger UI at /docs), DB service {db}, "
                f"logging service {log}. Ctrl-C stops it.")
            while True:
                for name, proc in group.procs.items():
                    if not proc.alive():
                        # A service exits 0 only when a signal stopped it: that is a stop, not a failure.
                        return 130 if proc.returncode == 0 else died(group, name, labels[name], "")
                time.sleep(0.2)
        except signals.Stopped as stop:
            return stop.code
        finally:
            stopped.set()
            group.close()


def died(group: Group, name: str, label: str, when: str) -> int:
    proc = group.procs[name]
    proc.stop()  # reaped; its output is all in the log
    out(f"{label} (pid {proc.pid}) exited with status {proc.returncode}{when}: "
        f"{last_line(proc.log_text()) or 'no output'}", err=True)
    out(f"stopping the store; the full output is in {proc.log_path}", err=True)
    return 1
