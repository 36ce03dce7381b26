"""Processes the harness starts: each in a process group of its own, waited for by probes, stopped by pid.

A process started here leads a new session (so its process group id is its pid): a Ctrl-C on the
terminal reaches only the harness, which stops what it started in its own order, and a stop reaches the
children a process forked (pre-fork gateway workers) even when their leader is gone. Nothing is ever
found or stopped by name.
"""
from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable

from py_server import devrun

REPO = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: How long a component may take to become ready. Waits poll and end as soon as it is up (or has
#: exited), so a generous bound costs nothing on an idle machine and spares a busy one.
START_TIMEOUT = 120.0


# --- probes: is a process alive, does it (or a child) listen on a port, does an address answer healthy ---


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on `port` (any address), from /proc; None where /proc is not Linux's."""
    inodes, seen = set(), False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes if seen else None


def _family(pid: int) -> set[int]:
    """`pid` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    family, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in family:
            family.add(current)
            todo.extend(children.get(current, ()))
    return family


def owns_listener(pid: int, port: int) -> bool:
    """True when `pid` or a descendant holds a socket listening on `port` (True where /proc cannot tell)."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return True
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for member in _family(pid):
        try:
            fds = os.listdir(f"/proc/{member}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{member}/fd/{fd}") in wanted:
                    return True
            except OSError:
                continue
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent's wait is missing
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def healthy(target: str) -> bool:
    from py_server import healthcheck

    if target.startswith(("http://", "https://")):
        return healthcheck.http_ok(target, timeout=2.0)
    return healthcheck.grpc_serving(target, timeout=2.0)


class Died(RuntimeError):
    """The process exited while the harness waited for it."""


class NotReady(TimeoutError):
    """The process runs but did not become ready in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> None:
    """Polls `condition()` until it is true; errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - a condition that cannot be checked yet is simply not met
            pass
        time.sleep(interval)
    raise TimeoutError(f"condition not met after {timeout}s")


class Proc:
    """One process in its own session; its output goes to `log_path` (and, with `echo`, line by line
    to that callable too, e.g. the terminal of `make run`)."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_path: pathlib.Path,
                 cwd: pathlib.Path = REPO, echo: Callable[[bytes], None] | None = None, append: bool = False):
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab" if append else "wb")
        self._pump = None
        out = subprocess.PIPE if echo else self._log
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        if echo:
            self._pump = threading.Thread(target=self._copy, args=(echo,), daemon=True)
            self._pump.start()

    def _copy(self, echo: Callable[[bytes], None]) -> None:
        for line in self.process.stdout:
            self._log.write(line)
            self._log.flush()
            echo(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
        """Polls `ready()` (errors count as not yet) until true; Died if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise Died(f"{what} (pid {self.pid}) exited with status {self.returncode} during start-up")
            try:
                if ready() and self.alive():
                    return
            except Exception:  # noqa: BLE001 - a probe that cannot answer yet means not ready
                pass
            time.sleep(0.2)
        if not self.alive():
            raise Died(f"{what} (pid {self.pid}) exited with status {self.returncode} during start-up")
        raise NotReady(f"{what} (pid {self.pid}) did not become ready within {timeout:.0f}s; see {self.log_path}")

    def wait_serving(self, target: str, what: str, timeout: float = START_TIMEOUT) -> None:
        """Ready when this process (or a child) listens on `target`'s port and `target` answers healthy:
        grpc.health.v1 for host:port, HTTP 200 for an http:// URL. Another process on the port does not count."""
        port = devrun.split_address(target)[1]
        self.wait_ready(lambda: owns_listener(self.pid, port) and healthy(target), what, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """`sig` to the process (it stops its own children), then SIGKILL to its group after `timeout` s;
        whatever of the group is left after the leader exits is killed too. Returns the exit status."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait()
        self._kill_group()
        if self._pump is not None:
            self._pump.join(5)
        self._log.close()
        return self.process.returncode

    def _kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]
