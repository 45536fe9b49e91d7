"""What every integration test shares: bounded waiting, unique ids, and raw reads of the journal.

`RawLedger` reads the database with its own driver connection (`sqlite3`, or
`psycopg` for PostgreSQL), never through the adapter under test, so a bug in
the adapter cannot hide itself by agreeing with its own reads.
"""

import abc
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from wallet.adapters.sql_dialect import Dialect
from wallet.domain.commands import Envelope, LedgerCommand, request_hash
from wallet.domain.ledger import SYSTEM_ACCOUNTS, BalanceKey

WAIT_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.005


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_TIMEOUT_S) -> None:
    """Polls `condition` until it holds; fails, naming `what`, once the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_INTERVAL_S)


def unique(prefix: str) -> str:
    """An id no other test uses, so tests may share a database file or a log."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def envelope(command: LedgerCommand, command_id: str | None = None) -> Envelope:
    return Envelope(command_id or unique("cmd"), request_hash(command), command)


def logical_account(stored_account_id: str) -> str:
    """The account a stored row belongs to: a system account is kept in shards
    ("system:deposits:3")."""
    head, _, tail = stored_account_id.rpartition(":")
    return head if head in SYSTEM_ACCOUNTS and tail.isdigit() else stored_account_id


def by_account(stored: dict[BalanceKey, int]) -> dict[BalanceKey, int]:
    """Each account's total, its shards summed."""
    totals: dict[BalanceKey, int] = {}
    for (account, currency), balance in stored.items():
        key = (logical_account(account), currency)
        totals[key] = totals.get(key, 0) + balance
    return totals


class StepClock:
    """A clock that advances a fixed step per reading: distinct, predictable timestamps.

    It starts on an odd microsecond, so a store that dropped sub-second digits
    would be caught by the round-trip tests.
    """

    def __init__(self, start: datetime | None = None, step: timedelta | None = None) -> None:
        self._now = start or datetime(2026, 3, 14, 15, 9, 26, 535_897, tzinfo=UTC)
        self._step = step or timedelta(milliseconds=1, microseconds=7)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += self._step
            return self._now


class Inbox:
    """A pub/sub callback that keeps every message it is handed."""

    def __init__(self) -> None:
        self._messages: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, messages: Sequence[str]) -> None:
        with self._lock:
            self._messages.extend(messages)

    @property
    def messages(self) -> list[str]:
        with self._lock:
            return list(self._messages)


RAW_CONNECT_TIMEOUT_S = 10


class RawLedger(abc.ABC):
    """Plain SQL over the ledger, for checks the adapter must not be trusted with.

    Statements use `?` placeholders; each backend runs them on a connection of its own.
    """

    @abc.abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Runs one statement in its own transaction, and commits it."""

    @abc.abstractmethod
    def tables(self) -> set[str]: ...

    @abc.abstractmethod
    def triggers(self) -> set[str]:
        """Names in lower case: PostgreSQL folds unquoted names, SQLite keeps them."""

    def count(self, table: str, where: str = "1 = 1", params: Sequence[Any] = ()) -> int:
        return int(self.rows(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0])

    def stored_balances(self) -> dict[BalanceKey, int]:
        rows = self.rows("SELECT account_id, currency, balance FROM balances")
        return {(account, currency): int(balance) for account, currency, balance in rows}

    def entry_sums(self) -> dict[BalanceKey, int]:
        rows = self.rows(
            "SELECT account_id, currency, SUM(amount) FROM entries GROUP BY account_id, currency")
        return {(account, currency): int(total) for account, currency, total in rows}

    def accounts(self) -> set[str]:
        return {account for (account,) in self.rows("SELECT DISTINCT account_id FROM entries")}

    def assert_consistent(self) -> None:
        """The ledger's invariants, checked on the raw rows."""
        self._assert_running_balances()
        assert self.stored_balances() == self.entry_sums(), "balances drifted from the journal"
        unbalanced = self.rows(
            "SELECT transaction_id FROM entries GROUP BY transaction_id "
            "HAVING SUM(amount) <> 0 OR COUNT(*) <> 2")
        assert unbalanced == [], f"transactions whose entries do not net to zero: {unbalanced}"
        orphans = self.rows(
            "SELECT id, status FROM transactions WHERE (status = 'committed') <> "
            "(id IN (SELECT transaction_id FROM entries))")
        assert orphans == [], f"committed without entries, or rejected with entries: {orphans}"
        negative = self.rows("SELECT * FROM balances WHERE balance < 0 "
                             "AND account_id NOT LIKE 'system:%'")
        assert negative == [], f"negative user balances: {negative}"

    def _assert_running_balances(self) -> None:
        """Replayed in commit order, every entry's balance_after is the running sum."""
        running: dict[BalanceKey, int] = {}
        rows = self.rows(
            "SELECT seq, account_id, currency, amount, balance_after FROM entries ORDER BY seq")
        for seq, account, currency, amount, balance_after in rows:
            key = (account, currency)
            running[key] = running.get(key, 0) + int(amount)
            assert running[key] == int(balance_after), f"entry {seq} of {key} breaks the chain"


class RawSQLite(RawLedger):
    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path, timeout=RAW_CONNECT_TIMEOUT_S)) as connection:
            return list(connection.execute(sql, params).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with closing(sqlite3.connect(self.path, timeout=RAW_CONNECT_TIMEOUT_S)) as connection:
            connection.execute(sql, params)
            connection.commit()

    def tables(self) -> set[str]:
        return {name for (name,) in self.rows(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def triggers(self) -> set[str]:
        return {name.lower() for (name,) in self.rows(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}


class RawPostgres(RawLedger):
    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as connection:
            return list(connection.execute(_pyformat(sql), tuple(params)).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._connect() as connection:
            connection.execute(_pyformat(sql), tuple(params))

    def tables(self) -> set[str]:
        return {name for (name,) in self.rows(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}

    def triggers(self) -> set[str]:
        return {name for (name,) in self.rows(
            "SELECT tgname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid "
            "WHERE NOT tgisinternal AND relnamespace = current_schema()::regnamespace")}

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=RAW_CONNECT_TIMEOUT_S)


class HeldRawPostgres(RawPostgres):
    """RawPostgres on one connection, held until `close`: for a test that reads after every
    step, where a connection per read (some 10 ms here) would be most of its cost."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._held = self._connect()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._held.execute(_pyformat(sql), tuple(params)).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._held.execute(_pyformat(sql), tuple(params))

    def close(self) -> None:
        self._held.close()


def _pyformat(sql: str) -> str:
    """psycopg's placeholders are `%s`, so a literal `%` (as in LIKE 'system:%') is doubled."""
    return sql.replace("%", "%%").replace("?", "%s")


@dataclass(frozen=True)
class Backend:
    """One database the integration tests run against, and how to reach it around the adapter."""

    name: str  # sqlite | postgres
    open: Callable[[], Dialect]  # another dialect on the same database, as another process has
    raw: RawLedger
    integrity_error: type[Exception]  # what the driver raises for a refused constraint
    refusal_error: type[Exception]  # what it raises when a trigger refuses a statement
