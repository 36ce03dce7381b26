"""py_server.devrun: the settings the start-up scripts evaluate, read as every process reads them."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from py_server import devrun


def settings_via_bash(cwd, env: dict[str, str]) -> dict[str, str]:
    """What a script sees after `eval "$(python -m py_server.devrun settings)"`, run in `cwd`."""
    script = 'eval "$("$PY" -m py_server.devrun settings)"; env | grep ^MERCH_ || true'
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MERCH_")}
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(["bash", "-c", f"set -a; {script}"], cwd=cwd, capture_output=True, text=True, timeout=60,
                            env={**clean, **env, "PY": sys.executable, "PYTHONPATH": repo})
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_the_environment_wins_over_dotenv_and_dotenv_over_the_defaults(tmp_path):
    (tmp_path / ".env").write_text("MERCH_DB_BIND=127.0.0.1:7001\nMERCH_REST_BIND=127.0.0.1:7000\n"
                                   "MERCH_STATE_DIR=state dir with 'quotes' and $dollars\n")
    seen = settings_via_bash(tmp_path, {"MERCH_REST_BIND": "127.0.0.1:7100"})
    assert seen["MERCH_DB_BIND"] == "127.0.0.1:7001"  # from .env
    assert seen["MERCH_REST_BIND"] == "127.0.0.1:7100"  # the environment wins
    assert seen["MERCH_LOG_BIND"] == "127.0.0.1:50052"  # the default
    assert seen["MERCH_STATE_DIR"] == str(tmp_path / "state dir with 'quotes' and $dollars")


def test_a_bad_setting_stops_the_script_with_its_sentence(tmp_path):
    (tmp_path / ".env").write_text("MERCH_BCRYPT_ROUNDS=99\n")
    result = subprocess.run([sys.executable, "-m", "py_server.devrun", "settings"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("MERCH_")})
    assert result.returncode == 1 and "MERCH_BCRYPT_ROUNDS must be between 4 and 16" in result.stderr


@pytest.mark.parametrize("bind, client", [
    ("127.0.0.1:5000", "127.0.0.1:5000"), ("0.0.0.0:5000", "127.0.0.1:5000"), ("[::]:5000", "[::1]:5000"),
    ("localhost:5000", "localhost:5000"),
])
def test_connectable_is_where_a_local_client_reaches_a_bind_address(bind, client):
    assert devrun.connectable(bind) == client
