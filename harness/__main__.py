"""python -m harness run | stack | postgres start|stop|url | kafka start|stop|status

    run        `make run` (harness/run.py)
    stack      `make stack` (harness/stack.py)
    postgres   scripts/postgres.sh: PGDATA [$MERCH_STATE_DIR/postgres], PGPORT [54329], PG_FSYNC [on],
               PG_MAX_CONNECTIONS [200]; `start` prints the database URL
    kafka      scripts/kafka.sh start / stop / status (its environment: MERCH_STATE_DIR, KAFKA_PORT, …)
"""
from __future__ import annotations

import os
import pathlib
import sys

from harness.procs import REPO


def state_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("MERCH_STATE_DIR") or REPO / ".merch").absolute()


def postgres(command: str) -> int:
    from harness.postgres import Postgres

    server = Postgres(pathlib.Path(os.environ.get("PGDATA") or state_dir() / "postgres"),
                      int(os.environ.get("PGPORT") or 54329), fsync=os.environ.get("PG_FSYNC", "on") != "off",
                      max_connections=int(os.environ.get("PG_MAX_CONNECTIONS") or 200))
    if command == "start":
        print(server.start())
    elif command == "stop":
        server.stop()
    else:
        print(server.url)
    return 0


def kafka(command: str) -> int:
    from harness.kafka import Kafka

    broker = Kafka(state_dir(), int(os.environ.get("KAFKA_PORT") or 9092),
                   int(os.environ.get("KAFKA_CONTROLLER_PORT") or 9093),
                   topic=os.environ.get("MERCH_KAFKA_TOPIC") or "log-channel",
                   partitions=int(os.environ["KAFKA_PARTITIONS"]) if os.environ.get("KAFKA_PARTITIONS") else None)
    say = lambda text: print(f"kafka.sh: {text}", file=sys.stderr)  # noqa: E731
    if command == "start":
        try:
            print(broker.start_detached(float(os.environ.get("KAFKA_READY_TIMEOUT") or 90)))
        except Exception as error:  # noqa: BLE001 - one line for the shell, not a traceback
            say(f"error: {error}")
            return 1
        say(f"ready: bootstrap {broker.bootstrap}, topic {broker.topic}; logs in {broker.dir / 'logs'}")
    elif command == "stop":
        stopped = broker.stop_detached(float(os.environ.get("KAFKA_STOP_TIMEOUT") or 60))
        say("stopped" if stopped else "not running")
    else:
        pid = broker.running_pid()
        if pid is None:
            say(f"not running (state dir {broker.dir})")
            return 3
        if not broker.serving():
            say(f"running (pid {pid}) but not answering on {broker.bootstrap}")
            return 1
        say(f"running and ready (pid {pid}), bootstrap {broker.bootstrap}")
        print(broker.bootstrap)
    return 0


def main(argv: list[str]) -> int:
    usage = __doc__.split("\n\n")[0]
    if argv[:1] == ["run"]:
        from harness import run

        return run.main()
    if argv[:1] == ["stack"]:
        from harness import stack

        return stack.main()
    if len(argv) == 2 and argv[0] == "postgres" and argv[1] in ("start", "stop", "url"):
        return postgres(argv[1])
    if len(argv) == 2 and argv[0] == "kafka" and argv[1] in ("start", "stop", "status"):
        return kafka(argv[1])
    print(f"usage: {usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
