"""The gateway's settings: the JWT secret above all."""
from __future__ import annotations

import concurrent.futures
import stat

import pytest

from api_rest import settings
from py_server.config import ConfigError


def test_dev_generates_one_private_secret_and_keeps_it(tmp_path):
    environ = {"MERCH_STATE_DIR": str(tmp_path)}
    first = settings.load(environ).jwt_secret
    assert len(first) >= 32
    secret_file = tmp_path / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert settings.load(environ).jwt_secret == first


def test_concurrent_first_starts_agree_on_one_secret(tmp_path):
    environ = {"MERCH_STATE_DIR": str(tmp_path)}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: settings.load(environ).jwt_secret, range(16)))
    assert len(secrets) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt_secret", "service_token"]


def test_production_refuses_to_start_without_a_jwt_secret_and_says_which(tmp_path):
    environ = {"MERCH_STATE_DIR": str(tmp_path), "MERCH_ENV": "production",
               "MERCH_DATABASE_URL": "postgresql://merch@db/merch", "MERCH_SERVICE_TOKEN": "t" * 40}
    with pytest.raises(ConfigError, match="MERCH_JWT_SECRET is required"):
        settings.load(environ)
    assert not (tmp_path / "jwt_secret").exists()
    assert settings.load({**environ, "MERCH_JWT_SECRET": "s" * 48}).jwt_secret == "s" * 48


@pytest.mark.parametrize("name, value, message", [
    ("MERCH_JWT_SECRET", "short", "at least 32"),
    ("MERCH_JWT_TTL_SECONDS", "soon", "whole number"),
    ("MERCH_JWT_TTL_SECONDS", "5", "between"),
    ("MERCH_GRPC_TIMEOUT_SECONDS", "0", "between"),
    ("MERCH_REST_WORKERS", "many", "whole number"),
])
def test_bad_settings_stop_start_up_naming_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=f"{name}.*{message}|{message}.*{name}"):
        settings.load({"MERCH_STATE_DIR": str(tmp_path), name: value})


def test_defaults(tmp_path):
    loaded = settings.load({"MERCH_STATE_DIR": str(tmp_path)})
    assert (loaded.bind, loaded.jwt_ttl_seconds, loaded.grpc_timeout_seconds) == ("127.0.0.1:5000", 3600, 5.0)
    assert loaded.db_addr == "127.0.0.1:50051"


@pytest.mark.parametrize("raw, expected", [("", True), ("on", True), ("OFF", False)])
def test_log_shipping_switch(tmp_path, raw, expected):
    environ = {"MERCH_STATE_DIR": str(tmp_path), "MERCH_LOG_SHIPPING": raw}
    assert settings.load(environ).log_shipping is expected


def test_log_shipping_switch_refuses_other_words(tmp_path):
    with pytest.raises(ConfigError, match="MERCH_LOG_SHIPPING"):
        settings.load({"MERCH_STATE_DIR": str(tmp_path), "MERCH_LOG_SHIPPING": "maybe"})
