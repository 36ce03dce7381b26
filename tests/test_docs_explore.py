"""Every command of docs/explore.md runs, in order, against real services, and fails only where it says so.

How the page is run:
- every ```sh block, in page order, becomes one bash script (`set -euo pipefail`), as if
  pasted into one shell at the repository root: later blocks use the variables and the
  function earlier ones define;
- the addresses of `make run`'s defaults are replaced by this test's own services:
  `127.0.0.1:50051` -> the DB service, `127.0.0.1:50052` -> the logging service,
  `http://127.0.0.1:5000` -> the gateway (each only where no further digit follows), and
  `127.0.0.1:9`, the page's address where nothing listens, by a free port; MERCH_DB_ADDR
  and MERCH_LOG_ADDR are set to the services as well, for merchctl commands that rely on
  its defaults, with MERCH_SERVICE_TOKEN the services' token; no other MERCH_* variable is passed on. Any other address on the page
  fails the test (it would reach services that are not the test's);
- the script must exit 0: a command meant to fail ends in `|| echo "exit $?"  # exit N`,
  and a curl that prints its status with `-w ' HTTP %{http_code}\\n'` ends in `# HTTP N`;
  the codes printed must be exactly those the comments promise, in order.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests import support
from tests.rest_fixtures import rest_gateway

PAGE = support.REPO / "docs/explore.md"
DEFAULTS = {"db": "127.0.0.1:50051", "log": "127.0.0.1:50052", "rest": "http://127.0.0.1:5000", "dead": "127.0.0.1:9"}
ADDRESS = re.compile(r"(?:https?://)?(?:127\.0\.0\.1|localhost|0\.0\.0\.0):\d+")
EXIT_PROMISE = re.compile(r'\|\| echo "exit \$\?"\s+# exit (\d+)$', re.M)
HTTP_PROMISE = re.compile(r"# HTTP (\d{3})$", re.M)
OUTCOME = re.compile(r"^exit (\d+)$| HTTP (\d{3})$")


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.S | re.M)


def substitute(script: str, addresses: dict[str, str]) -> str:
    for name, default in DEFAULTS.items():
        script = re.sub(re.escape(default) + r"(?!\d)", addresses[name], script)
    return script


def promises(script: str) -> list[str]:
    """The outcomes the page's comments promise, in order: 'exit 67', 'HTTP 404', ..."""
    found = []
    for line in script.splitlines():
        if match := EXIT_PROMISE.search(line):
            found.append(f"exit {match[1]}")
        elif match := HTTP_PROMISE.search(line):
            found.append(f"HTTP {match[1]}")
    return found


@pytest.fixture(scope="module")
def addresses(tmp_path_factory):
    state = tmp_path_factory.mktemp("docs-explore")
    with support.logging_service(state) as (log, _), \
            support.db_service(state, MERCH_LOG_ADDR=log) as (db, _), \
            rest_gateway(state, db, log) as gateway:
        yield {"db": db, "log": log, "rest": gateway.url, "dead": f"127.0.0.1:{support.free_port()}"}


def test_the_page_uses_only_the_default_addresses_and_annotates_every_expected_failure():
    blocks = sh_blocks(PAGE.read_text())
    assert len(blocks) >= 5, "docs/explore.md lost its ```sh blocks"
    script = "\n".join(blocks)
    assert set(ADDRESS.findall(script)) <= set(DEFAULTS.values()), "an address the test cannot substitute"
    assert script.count('|| echo "exit $?"') == len(EXIT_PROMISE.findall(script)), \
        'every `|| echo "exit $?"` needs its `# exit N` comment'
    assert script.count("%{http_code}") == len(HTTP_PROMISE.findall(script)), \
        "every curl -w '%{http_code}' needs its `# HTTP N` comment"
    for tool in ("grpcurl", "merchctl", "curl"):
        assert tool in script


def test_every_command_of_the_page_runs_against_real_services(addresses):
    blocks = sh_blocks(PAGE.read_text())
    script = "set -euo pipefail\n" + "\n".join(
        f"echo '### block {n}' >&2\n{substitute(block, addresses)}" for n, block in enumerate(blocks, 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    env.update(MERCH_DB_ADDR=addresses["db"], MERCH_LOG_ADDR=addresses["log"], MERCH_SERVICE_TOKEN=support.SERVICE_TOKEN,
               PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")  # python3 for `pick`
    result = subprocess.run(["bash", "-c", script], cwd=support.REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, (
        f"docs/explore.md failed (exit {result.returncode}) after:\n{result.stderr[-3000:]}\n"
        f"stdout:\n{result.stdout[-2000:]}")
    shown = [f"exit {m[1]}" if m[1] else f"HTTP {m[2]}"
             for m in map(OUTCOME.search, result.stdout.splitlines()) if m]
    assert shown == promises("\n".join(blocks)), result.stdout
