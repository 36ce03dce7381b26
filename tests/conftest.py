"""Fixtures that start the real components: PostgreSQL and the DB service."""
from __future__ import annotations

import grpc
import pytest

from tests import support
from tests.rest_fixtures import *  # noqa: F401,F403 - the REST gateway's fixtures


@pytest.fixture(scope="session")
def postgres():
    server = support.Postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def db_address(backend, tmp_path_factory, request):
    """One DB service per backend for the whole session; tests create their own rows."""
    state_dir = tmp_path_factory.mktemp(f"state-{backend}")
    url = request.getfixturevalue("postgres").new_database() if backend == "postgres" else None
    with support.db_service(state_dir, url) as (address, _proc):
        yield address


@pytest.fixture(scope="session")
def db_channel(db_address):
    with support.channel(db_address) as channel:
        yield channel


@pytest.fixture(scope="session")
def kafka():
    broker = support.Kafka()
    yield broker
    broker.stop()
