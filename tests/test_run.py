"""`make run` (scripts/run.sh) as a newcomer meets it: settings only in `.env`, the guide on top of it,
a second run on taken ports, a service that dies at start-up.

run.sh runs in a copy of the repository's runnable parts (sharing .venv, bin and .tools), so that the
copy's own `.env` is the one every process finds, as a developer's is at the repository root.
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

import harness
from py_server import devrun
from tests import guide, support

READY = "The store is running"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


class Run:
    """One scripts/run.sh in `root`, its output in a file; stopped by its pid."""

    def __init__(self, root: pathlib.Path, env: dict[str, str], name: str):
        self.out_path = root / f"{name}.out"
        self._out = open(self.out_path, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=root, env=env, stdout=self._out,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 180) -> None:
        support.wait_for(lambda: READY in self.output() or self.process.poll() is not None, timeout=timeout)
        assert READY in self.output(), f"run.sh did not start:\n{self.output()[-4000:]}"

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout)
        self._out.close()
        return code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.finish()


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("make-run") / "repo"
    for name in ("harness", "py_server", "api_rest", "scripts", "proto", "docs"):
        shutil.copytree(support.REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(support.REPO / "Makefile", root / "Makefile")
    for name in (".venv", "bin", ".tools"):
        (root / name).symlink_to(support.REPO / name)
    return root


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {name: support.free_port() for name in ("db", "log", "rest")}


@pytest.fixture(scope="module")
def running(copy, ports):
    """`make run` configured by `.env` alone (a relative state folder, non-default ports)."""
    (copy / ".env").write_text(
        "MERCH_STATE_DIR=state\n"
        f"MERCH_DB_BIND=127.0.0.1:{ports['db']}\nMERCH_DB_ADDR=127.0.0.1:{ports['db']}\n"
        f"MERCH_LOG_BIND=127.0.0.1:{ports['log']}\nMERCH_LOG_ADDR=127.0.0.1:{ports['log']}\n"
        f"MERCH_REST_BIND=127.0.0.1:{ports['rest']}\nMERCH_BCRYPT_ROUNDS=4\n")
    run = Run(copy, clean_env(), "first")
    try:
        run.wait_ready()
        yield run
    finally:
        assert run.stop() in (0, 143), run.output()[-3000:]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_make_run_takes_its_settings_from_dotenv(running, copy, ports):
    assert "Welcome to the gRPC Service!" in get(f"http://127.0.0.1:{ports['rest']}/")
    out = running.output()
    for name in ("logging service", "DB service", "REST gateway"):
        assert re.search(rf"^{name} ready at \S+ \(pid \d+\)$", out, re.M), out
    assert (copy / "state" / "merch.sqlite3").is_file(), "a relative MERCH_STATE_DIR is taken from the repository"


def test_the_guide_runs_on_make_run(running, copy, ports):
    guide.check_page()
    script = "set -euo pipefail\n" + guide.script("run")
    # No MERCH_* variable: merchctl finds the services through the copy's .env, as a newcomer's would.
    result = subprocess.run(["bash", "-c", script], cwd=copy, capture_output=True, text=True, timeout=240,
                            env=clean_env(BASE=f"http://127.0.0.1:{ports['rest']}"))
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    out = result.stdout
    guide.check_common_output(out)


def test_merchctl_reads_dotenv_from_a_subfolder_and_the_environment_wins(running, copy):
    merchctl = str(support.REPO / "bin/merchctl")
    greet = subprocess.run([merchctl, "greet"], cwd=copy / "docs", env=clean_env(), capture_output=True,
                           text=True, timeout=60)
    assert (greet.returncode, greet.stdout) == (0, "Welcome to the gRPC Service!\n"), greet.stderr
    dead = f"127.0.0.1:{support.free_port()}"
    away = subprocess.run([merchctl, "greet", "--timeout", "5s"], cwd=copy / "docs",
                          env=clean_env(MERCH_DB_ADDR=dead), capture_output=True, text=True, timeout=60)
    assert away.returncode == 64 + 14 and dead in away.stderr, away.stderr


def test_a_second_run_on_taken_ports_exits_within_10_s_naming_the_address(running, copy, ports):
    second = Run(copy, clean_env(), "second")
    try:
        code = second.finish(timeout=60)
    finally:
        second.stop()
    elapsed = time.monotonic() - second.started
    lines = [line for line in second.output().splitlines() if line.strip()]
    assert code != 0
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert len(lines) == 1 and f"127.0.0.1:{ports['log']}" in lines[0], lines
    assert " ready at " not in second.output()
    assert "Welcome" in get(f"http://127.0.0.1:{ports['rest']}/"), "the first run is untouched"


def test_a_service_dying_at_start_up_stops_the_rest_and_names_its_error(running, copy):
    """The environment wins over .env: fresh ports (else the refusal above), and a database nobody serves."""
    binds = {name: f"127.0.0.1:{support.free_port()}" for name in ("DB", "LOG", "REST")}
    env = clean_env(**{f"MERCH_{name}_BIND": address for name, address in binds.items()},
                    MERCH_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{support.free_port()}/none")
    broken = Run(copy, env, "broken")
    try:
        code = broken.finish(timeout=120)
    finally:
        broken.stop()
    out = broken.output()
    assert code == 1, out
    assert re.search(r"^DB service \(pid \d+\) exited with status 1 during start-up: \S*OperationalError", out, re.M), out
    assert "DB service ready" not in out and READY not in out
    logging_pid = int(re.search(r"^logging service ready at \S+ \(pid (\d+)\)$", out, re.M)[1])
    assert not harness.procs.alive(logging_pid), "the logging service it had started is stopped"
    assert devrun.taken(binds["LOG"]) is None


def test_ready_means_the_process_this_run_started(tmp_path):
    """Another instance answering on the address is not this run's process being ready."""
    with support.logging_service(tmp_path) as (address, other):
        stranger = harness.Proc("stranger", ["sleep", "60"], env=dict(os.environ), log_path=tmp_path / "stranger.log")
        try:
            with pytest.raises(harness.NotReady):
                stranger.wait_serving(address, "a stranger", timeout=3)
            other.wait_serving(address, "the logging service", timeout=3)
        finally:
            stranger.stop()
        with pytest.raises(harness.Died):
            stranger.wait_serving(address, "a stranger", timeout=3)
        assert devrun.taken(address) is not None


def test_free_names_the_taken_address_in_one_line():
    with support.socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        result = subprocess.run([support.PYTHON, "-m", "py_server.devrun", "free", f"MERCH_REST_BIND={address}"],
                                cwd=support.REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and address in result.stderr and "MERCH_REST_BIND" in result.stderr
