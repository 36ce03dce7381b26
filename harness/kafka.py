"""The Kafka broker of scripts/kafka.sh (`kafka.sh run`: Kafka's own main classes from the Maven jars),
run in a process group of its own, waited for until it serves, and stopped by its pid.

Ready means: the process this harness started listens on the client port, and the topic exists (creating
it is the readiness probe: it succeeds only once broker and controller both serve). The topic takes the
broker's default partition count (deploy/kafka/server.properties) unless `partitions` is given.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import signal
import subprocess
import time

from harness.procs import REPO, START_TIMEOUT, Died, NotReady, Proc, alive, owns_listener
from py_server import devrun

SCRIPT = REPO / "scripts/kafka.sh"


def create_topic(bootstrap: str, topic: str, partitions: int | None = None) -> None:
    """Creates `topic` unless it exists (kafka-python's admin client: no JVM per probe)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        admin.create_topics([NewTopic(topic, partitions or -1, -1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


class Kafka:
    """One broker with its state in `state_dir`/kafka, on 127.0.0.1:`port` (controller on `controller_port`)."""

    def __init__(self, state_dir: pathlib.Path, port: int, controller_port: int, *, topic: str = "log-channel",
                 partitions: int | None = None, env: dict[str, str] | None = None):
        self.state_dir = pathlib.Path(state_dir).absolute()
        self.dir = self.state_dir / "kafka"
        self.port, self.topic, self.partitions = port, topic, partitions
        self.bootstrap = f"127.0.0.1:{port}"
        self.env = {**(os.environ if env is None else env), "MERCH_STATE_DIR": str(self.state_dir),
                    "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(controller_port), "MERCH_KAFKA_TOPIC": topic}
        self.env.pop("MERCH_KAFKA_BOOTSTRAP", None)  # the tools talk to this broker
        if partitions:
            self.env["KAFKA_PARTITIONS"] = str(partitions)
        self.proc: Proc | None = None
        self.pid_file = self.dir / "kafka.pid"

    def script(self, *args: str, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
        """scripts/kafka.sh with this broker's environment (the console tools, producer-perf …)."""
        return subprocess.run([str(SCRIPT), *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    @contextlib.contextmanager
    def _lock(self):
        """One start or stop at a time on a state folder."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lifecycle.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def running_pid(self) -> int | None:
        """The pid of this state folder's broker if one runs (its pid file names a live kafka.Kafka of it)."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            return None
        return pid if alive(pid) and f"kafka.Kafka {self.dir / 'server.properties'}" in cmdline else None

    def _wait(self, pid: int, alive, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive():
                raise Died(f"the Kafka broker (pid {pid}) exited during start-up; see {self.dir / 'logs'}")
            if owns_listener(pid, self.port):
                with contextlib.suppress(Exception):
                    create_topic(self.bootstrap, self.topic, self.partitions)
                    return
            time.sleep(0.3)
        raise NotReady(f"the Kafka broker (pid {pid}) did not serve on {self.bootstrap} within {timeout:.0f}s; "
                       f"see {self.dir / 'logs'}")

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Starts the broker (kept as `self.proc`), waits until it serves; the bootstrap address."""
        with self._lock():
            fetch = self.script("fetch", timeout=900)
            if fetch.returncode != 0:
                raise RuntimeError(f"kafka.sh fetch failed:\n{fetch.stderr[-3000:]}")
            for port_name in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT"):
                address = f"127.0.0.1:{self.env[port_name]}"
                if reason := devrun.taken(address):
                    raise RuntimeError(f"{address} ({port_name}) is not free: {reason}. Stop whatever listens "
                                       f"there, or set {port_name} to a free port.")
            self.proc = Proc("kafka", [str(SCRIPT), "run"], env=self.env, log_path=self.dir / "logs/kafka.out",
                             append=True)
            try:
                self._wait(self.proc.pid, self.proc.alive, timeout)
            except (Died, NotReady):
                self.proc.stop(timeout=30)
                raise
        return self.bootstrap

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=timeout)
            self.proc = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    # --- a broker left running in the background (scripts/kafka.sh start / stop / status) -----------------

    def start_detached(self, timeout: float) -> str:
        """Starts the broker and leaves it running when this process exits; waits for a running one."""
        pid = self.running_pid()
        if pid is None:
            self.start(timeout)
        else:
            self._wait(pid, lambda: alive(pid), timeout)
        return self.bootstrap

    def stop_detached(self, timeout: float = 60.0) -> bool:
        """SIGTERM to the recorded broker (Kafka shuts down cleanly on it), SIGKILL to its group after
        `timeout` s. False when none ran."""
        with self._lock():
            pid = self.running_pid()
            if pid is None:
                with contextlib.suppress(FileNotFoundError):
                    self.pid_file.unlink()
                return False
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
            self.pid_file.unlink()
            return True

    def serving(self) -> bool:
        with contextlib.suppress(Exception):
            from kafka.admin import KafkaAdminClient

            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                return self.topic in admin.list_topics()
            finally:
                admin.close()
        return False
