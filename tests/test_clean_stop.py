"""Ctrl-C to the whole store at once loses no log record and prints no traceback.

The three services run in one process group, as `make run` starts them in a
terminal; SIGINT goes to the group right after a request, so every process
stops at the same moment. The logging service must stop last: it takes the
records the DB service and the gateway flush as they stop, then drains its sink.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid

import pytest
import requests

from tests import support
from tests.rest_fixtures import JWT_SECRET, PASSWORD


def _start(module: str, args: list[str], env: dict, log_path, group: int | None) -> subprocess.Popen:
    log = open(log_path, "wb")
    kwargs = {"process_group": 0 if group is None else group}  # one group, like a terminal job
    return subprocess.Popen([support.PYTHON, "-m", module, *args], cwd=support.REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, **kwargs)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_whole_group_right_after_a_request_loses_no_log_record(tmp_path, sig):
    log_addr, db_addr, rest_port = (f"127.0.0.1:{support.free_port()}", f"127.0.0.1:{support.free_port()}",
                                    support.free_port())
    env = support.service_env(tmp_path, MERCH_LOG_ADDR=log_addr, MERCH_DB_ADDR=db_addr, MERCH_JWT_SECRET=JWT_SECRET)
    logs = {name: tmp_path / f"{name}.out" for name in ("logging", "db", "rest")}
    processes = []
    try:
        logging = _start("py_server.logging_service", ["--bind", log_addr], env, logs["logging"], None)
        processes.append(logging)
        group = os.getpgid(logging.pid)
        support.wait_serving(log_addr, process=logging)
        processes.append(_start("py_server.db_service", ["--bind", db_addr], env, logs["db"], group))
        support.wait_serving(db_addr, process=processes[-1])
        processes.append(_start("api_rest", ["--bind", f"127.0.0.1:{rest_port}", "--workers", "2"], env,
                                logs["rest"], group))
        url = f"http://127.0.0.1:{rest_port}"
        support.wait_for(lambda: requests.get(url + "/healthz", timeout=1).status_code == 200, timeout=30)
        name = f"s{uuid.uuid4().hex[:10]}"
        token = requests.post(url + "/register", json={"sid": name, "username": name, "email": f"{name}@x.org",
                                                      "password": PASSWORD}, timeout=10).json()["token"]
        rid = f"stop-{uuid.uuid4().hex}"
        answer = requests.get(url + "/products/1", headers={"Authorization": f"Bearer {token}", "X-Request-ID": rid},
                              timeout=10)
        assert answer.status_code == 200
        os.killpg(group, sig)
        codes = [p.wait(timeout=60) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    outputs = {name: path.read_text(errors="replace") for name, path in logs.items()}
    for name, text in outputs.items():
        assert "Traceback" not in text, f"{name} printed a traceback at shutdown:\n{text[-3000:]}"
    assert codes == [0, 0, 0], (codes, {k: v[-1500:] for k, v in outputs.items()})
    records = [json.loads(line) for line in (tmp_path / "logs.jsonl").read_text().splitlines()]
    mine = sorted((r["service"], r["message"]) for r in records if r.get("requestId") == rid)
    assert mine == [
        ("api_rest", "Incoming request: GET /products/1"),
        ("api_rest", "Response status: 200 for GET /products/1"),
        ("db_service", "Accessing DB service: GetProduct"),  # the request's one DB call
    ], mine
