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
                                     "MERCH_DATABASE_URL": url, "MERCH_SERVICE_TOKEN": "t" * 40})
    with pytest.raises(config.ConfigError, match="MERCH_DATABASE_URL"):
        settings.require_production_database()


@pytest.mark.parametrize("name, value", [("MERCH_BCRYPT_ROUNDS", "many"), ("MERCH_BCRYPT_ROUNDS", "99"),
                                         ("MERCH_ENV", "staging")])
def test_malformed_settings_stop_start_up_with_the_name(tmp_path, name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load_settings({"MERCH_STATE_DIR": str(tmp_path), name: value})


def test_production_refuses_to_start_without_a_service_token_and_says_which(tmp_path):
    environ = {"MERCH_STATE_DIR": str(tmp_path), "MERCH_ENV": "production"}
    with pytest.raises(config.ConfigError, match="MERCH_SERVICE_TOKEN is required"):
        config.load_settings(environ)
    assert not (tmp_path / "service_token").exists()


def test_dev_generates_one_private_service_token_shared_by_every_process(tmp_path):
    first = config.load_settings({"MERCH_STATE_DIR": str(tmp_path)}).service_token
    assert config.load_settings({"MERCH_STATE_DIR": str(tmp_path)}).service_token == first
    assert (tmp_path / "service_token").stat().st_mode & 0o777 == 0o600
    assert config.load_settings({"MERCH_STATE_DIR": str(tmp_path), "MERCH_SERVICE_TOKEN": "x" * 20}).service_token \
        == "x" * 20


def test_a_short_service_token_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="at least 16"):
        config.load_settings({"MERCH_STATE_DIR": str(tmp_path), "MERCH_SERVICE_TOKEN": "short"})


def test_the_db_service_runs_one_process_per_core_and_shares_its_worker_threads_out(tmp_path):
    import os

    settings = config.load_settings({"MERCH_STATE_DIR": str(tmp_path)})
    assert settings.db_processes == (os.cpu_count() or 1)
    assert (settings.grpc_workers, settings.db_pool_size) == (16, 17)
    assert [settings.db_workers_per_process(n) for n in (1, 2, 3, 16)] == [16, 8, 6, 2]
    with pytest.raises(config.ConfigError, match="MERCH_DB_PROCESSES"):
        config.load_settings({"MERCH_STATE_DIR": str(tmp_path), "MERCH_DB_PROCESSES": "0"})


def test_a_pool_smaller_than_a_process_s_worker_threads_stops_start_up_and_says_which(tmp_path):
    settings = config.load_settings({"MERCH_STATE_DIR": str(tmp_path), "MERCH_DB_POOL_SIZE": "8"})
    settings.require_pool_for_workers(settings.db_workers_per_process(4))  # 4 threads each: 5 connections
    with pytest.raises(config.ConfigError, match="MERCH_DB_POOL_SIZE"):
        settings.require_pool_for_workers(settings.db_workers_per_process(2))  # 8 threads each need 9
