"""The one process harness: PostgreSQL, Kafka, the DB and logging services, the REST gateways, nginx and
Prometheus, started on loopback with readiness waits and stopped by the pids it started.

Used by the tests' fixtures (tests/support.py), the benchmark (bench/stack.py), `make run`
(`python -m harness run`), `make stack` (`python -m harness stack`) and scripts/kafka.sh / postgres.sh.
"""
from harness.kafka import Kafka
from harness.postgres import Postgres
from harness.procs import PYTHON, REPO, START_TIMEOUT, Died, NotReady, Proc, free_port, wait_for
from harness.services import Group, python_module

__all__ = ["Died", "Group", "Kafka", "NotReady", "PYTHON", "Postgres", "Proc", "REPO", "START_TIMEOUT",
           "free_port", "python_module", "wait_for"]
