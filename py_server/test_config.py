"""Configuration: defaults, production's refusals, and messages that name the setting."""
from __future__ import annotations

import pytest

from py_server import config


def test_dev_defaults_to_sqlite_in_the_state_folder(tmp_path):
    settings = config.load_settings({"MERCH_STATE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'merch.sqlite3'}"
    assert (settings.db_addr, settings.log_addr, settings.kafka_topic) == ("127.0.0.1:50051", "127.0.0.1:50052", "log-channel")
    settings.require_production_database()  # dev: SQLite is fine


@pytest.mark.parametrize("url", ["", "sqlite:///tmp/x.db"])
def test_production_db_service_refuses_sqlite_and_names_the_variable(tmp_path, url):
    settings = config.load_settings({"MERCH_STATE_DIR": str(tmp_path), "MERCH_ENV": "production",
                                     "MERCH_DATABASE_URL": url})
    with pytest.raises(config.ConfigError, match="MERCH_DATABASE_URL"):
        settings.require_production_database()


@pytest.mark.parametrize("name, value", [("MERCH_BCRYPT_ROUNDS", "many"), ("MERCH_BCRYPT_ROUNDS", "99"),
                                         ("MERCH_ENV", "staging")])
def test_malformed_settings_stop_start_up_with_the_name(tmp_path, name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load_settings({"MERCH_STATE_DIR": str(tmp_path), name: value})
