"""docs/guide.md as the tests run it, on `make run` and on `make stack`.

The page's ```sh blocks run, in page order, as one bash script (later blocks use the variables
earlier ones set). A block tagged ```sh stack runs only against `make stack`; the ```sh start block
(`make run` / `make stack`) is what the tests' fixtures do instead, and never runs. The page's first
block sets BASE, the address every curl uses, from the environment with `make run`'s default; the
tests pass their own BASE. merchctl finds the services from MERCH_DB_ADDR / MERCH_LOG_ADDR (the
environment or .env).
"""
from __future__ import annotations

import re

from tests import support

PAGE = support.REPO / "docs/guide.md"
BLOCK = re.compile(r"^```sh(?: (\w+))?\n(.*?)^```$", re.S | re.M)
ADDRESS = re.compile(r"(?:https?://)?(?:127\.0\.0\.1|localhost|0\.0\.0\.0):\d+")


def blocks() -> list[tuple[str, str]]:
    """(tag, text) of every ```sh block, in page order; tag is '' for an untagged block."""
    return [(tag or "", text) for tag, text in BLOCK.findall(PAGE.read_text())]


def script(mode: str) -> str:
    """The blocks that run against `mode` ('run' or 'stack'), as one script."""
    wanted = {"run": {""}, "stack": {"", "stack"}}[mode]
    return "\n".join(text for tag, text in blocks() if tag in wanted)


def check_common_output(out: str) -> None:
    """What every run of the guide prints, on make run and make stack alike."""
    assert "Welcome to the gRPC Service!" in out
    assert out.count("08 01 10 65 18 02") >= 2, "Go and Python encode the seed's example alike"
    assert '"status":"cancelled"' in out.replace(" ", "")
    assert "first line" in out and "Incoming request" in out


def check_page() -> None:
    """The page's shape the tests rely on; an AssertionError says what broke."""
    found = blocks()
    tags = {tag for tag, _ in found}
    assert tags <= {"", "stack", "start"}, f"unknown ```sh tags: {tags}"
    (start,) = [text for tag, text in found if tag == "start"]
    assert "make run" in start and "make stack" in start
    first = next(text for tag, text in found if tag == "")
    assert first.startswith("BASE=${BASE:-http://127.0.0.1:5000}"), "the first block must set BASE"
    run_script = script("run")
    rest = run_script.split("\n", 1)[1]
    assert not ADDRESS.findall(rest), "a block run on make run names an address: use $BASE or merchctl's defaults"
