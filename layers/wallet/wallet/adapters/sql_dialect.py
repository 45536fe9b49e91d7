"""Everything that differs between the SQL backends, in one place.

The ledger's statements are written once, in the `?` placeholder style, and
each dialect adapts them: placeholders, column types, row locks, and the
triggers that keep the journal append-only.
"""

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


class Cursor(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Any, /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Dialect(abc.ABC):
    name: str
    lock_rows: str  # appended to a SELECT that must hold row locks until commit

    @abc.abstractmethod
    def sql(self, statement: str) -> str:
        """Adapts a statement written with `?` placeholders."""

    @abc.abstractmethod
    def schema(self) -> list[str]:
        """DDL of schema version 1."""

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads that see every committed write."""

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction that commits durably on exit."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def timestamp_in(self, moment: datetime) -> Any:
        return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)

    def timestamp_out(self, stored: Any) -> datetime:
        if isinstance(stored, datetime):
            return stored.astimezone(UTC)
        return datetime.strptime(str(stored), TIMESTAMP_FORMAT).replace(tzinfo=UTC)


LEDGER_TABLES = """
CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'rejected')),
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'payout', 'transfer')),
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    error_code TEXT,
    error_message TEXT,
    created_at {timestamp} NOT NULL,
    wallet_id TEXT NOT NULL
);
CREATE TABLE entries (
    seq {serial} PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,
    entry_type TEXT NOT NULL
        CHECK (entry_type IN ('deposit', 'payout', 'transfer_in', 'transfer_out')),
    counterparty TEXT,
    created_at {timestamp} NOT NULL,
    CHECK (balance_after >= 0 OR account_id LIKE 'system:%')
);
CREATE INDEX entries_by_account ON entries (account_id, seq);
CREATE INDEX entries_by_transaction ON entries (transaction_id);
CREATE TABLE balances (
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL,
    PRIMARY KEY (account_id, currency),
    CHECK (balance >= 0 OR account_id LIKE 'system:%')
)
"""


def statements(script: str) -> Iterator[str]:
    """Splits a DDL script whose statements contain no semicolons of their own."""
    return (part.strip() for part in script.split(";") if part.strip())
