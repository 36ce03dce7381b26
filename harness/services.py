"""Starting the store's own processes (and nginx, Prometheus) as a group that stops in reverse order."""
from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
from typing import Callable

from harness.procs import PYTHON, REPO, START_TIMEOUT, Died, NotReady, Proc


def python_module(module: str, *args: str, cpu: int | None = None) -> list[str]:
    """`python -m module args`, on one CPU if `cpu` is given (taskset execs it: same pid). All of a Python
    process's threads share one GIL; on one core, handing it over is a thread switch, not a cross-core wake-up."""
    argv = [PYTHON, "-m", module, *args]
    if cpu is None or not shutil.which("taskset") or cpu >= (os.cpu_count() or 1):
        return argv
    return ["taskset", "-c", str(cpu), *argv]


def nginx_argv(listen: str, upstreams: list[str]) -> list[str]:
    """nginx in front of `upstreams` (scripts/nginx.sh renders deploy/nginx/nginx.conf.template and execs it)."""
    return [str(REPO / "scripts/nginx.sh"), listen, *upstreams]


def prometheus_argv(listen: str, jobs: dict[str, list[str]]) -> list[str]:
    """Prometheus scraping each job's targets (scripts/prometheus.sh writes its config and execs it)."""
    return [str(REPO / "scripts/prometheus.sh"), listen, *(f"{job}={','.join(t)}" for job, t in jobs.items())]


class Group:
    """Processes started together; `close()` stops them (and any other callback added) last first."""

    def __init__(self, log_dir: pathlib.Path, echo: Callable[[str, bytes], None] | None = None):
        self.log_dir = log_dir
        self.echo = echo
        self.procs: dict[str, Proc] = {}
        self._stops = contextlib.ExitStack()

    def launch(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        echo = (lambda line: self.echo(name, line)) if self.echo else None
        proc = Proc(name, argv, env=env, log_path=self.log_dir / f"{name}.log", echo=echo)
        self.procs[name] = proc
        self._stops.callback(proc.stop)
        return proc

    def start(self, name: str, argv: list[str], env: dict[str, str], target: str, what: str | None = None,
              timeout: float = START_TIMEOUT) -> Proc:
        """Launches and waits until the process serves `target` (see Proc.wait_serving)."""
        proc = self.launch(name, argv, env)
        self.ready(name, target, what, timeout)
        return proc

    def ready(self, name: str, target: str, what: str | None = None, timeout: float = START_TIMEOUT) -> None:
        """Waits for an already launched process; Died / NotReady carry the end of its log."""
        proc = self.procs[name]
        try:
            proc.wait_serving(target, what or name, timeout)
        except (Died, NotReady) as error:
            raise type(error)(f"{error}; the end of its log:\n{proc.tail()}") from None

    def callback(self, fn, *args) -> None:
        self._stops.callback(fn, *args)

    def close(self) -> None:
        self._stops.close()
