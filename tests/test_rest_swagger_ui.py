"""Swagger UI at /docs, rendered by a real headless browser (Debian's chromium) with no network but
the gateway: every operation of the spec shows up, and so does the bearer-token Authorize button."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--virtual-time-budget=10000", "--dump-dom",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed for this test: apt-get install -y chromium (scripts/setup.sh does it)"
    return path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the page does not depend on the database
def test_swagger_ui_renders_every_operation_in_a_headless_browser(gateway, rest_spec, tmp_path):
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", gateway.url + "/docs"],
        capture_output=True, text=True, timeout=60,
    )
    dom = result.stdout
    assert "swagger-ui" in dom, f"chromium rendered nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    shown = set(re.findall(r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', dom, flags=re.S))
    documented = {(method.upper(), path) for path, item in rest_spec["paths"].items() for method in item}
    assert shown == documented
    assert "SUSTech Merch Store API" in dom
    assert "Authorize" in dom  # the bearer scheme
