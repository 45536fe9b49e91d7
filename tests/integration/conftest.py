"""Fixtures of the integration tier: a real SQLite file per test, migrated and closed."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect

from .support import RawLedger, StepClock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def dialect(db_path: Path) -> Iterator[SQLiteDialect]:
    dialect = SQLiteDialect(db_path)
    yield dialect
    dialect.close()


@pytest.fixture
def store(dialect: SQLiteDialect) -> Iterator[SqlLedgerStore]:
    store = SqlLedgerStore(dialect)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def raw(db_path: Path) -> RawLedger:
    return RawLedger(db_path)


@pytest.fixture
def clock() -> StepClock:
    return StepClock()
