"""Fixtures of the integration tier: a real, fresh ledger per test, migrated and closed.

Every test that asks for `backend` (directly, or through `dialect`, `store`
or `raw`) runs once on a SQLite file and once in a fresh PostgreSQL schema
(a fresh database would cost a hundred times more, for no isolation these
in-process tests need). `@pytest.mark.backends("sqlite")` narrows a test to the backends
it names, for checks that only mean something there (WAL, file reopening).
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_dialect import Dialect
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect

from tests.services.postgres import fresh_schema

from .support import Backend, RawLedger, RawPostgres, RawSQLite, StepClock

BACKENDS = ("sqlite", "postgres")
POOL_SIZE_MAX = 8  # enough for the tests' reader threads; a queue beyond it is fine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run the test only on these ledger backends")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        assert set(names) <= set(BACKENDS), f"unknown backends {names}"
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def backend(request: pytest.FixtureRequest, db_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", lambda: SQLiteDialect(db_path), RawSQLite(db_path),
                      sqlite3.IntegrityError, sqlite3.DatabaseError)
        return
    with fresh_schema() as url:
        yield Backend("postgres", lambda: PostgresDialect(url, POOL_SIZE_MAX), RawPostgres(url),
                      psycopg.IntegrityError, psycopg.Error)


@pytest.fixture
def dialect(backend: Backend) -> Iterator[Dialect]:
    dialect = backend.open()
    yield dialect
    dialect.close()


@pytest.fixture
def store(dialect: Dialect) -> Iterator[SqlLedgerStore]:
    store = SqlLedgerStore(dialect)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def raw(backend: Backend) -> RawLedger:
    return backend.raw


@pytest.fixture
def clock() -> StepClock:
    return StepClock()
