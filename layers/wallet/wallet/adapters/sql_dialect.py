"""Everything that differs between the SQL backends, in one place.

The ledger's statements are written once, in the `?` placeholder style, and
each dialect adapts them: placeholders, column types, how a batch locks the
accounts it touches, and the triggers that keep the journal append-only.
"""

import abc
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from wallet.domain.ledger import TIMESTAMP_FORMAT  # fixed width, so text order is time order

IN_LIST_SIZE_MAX = 500  # keeps every statement well under each backend's parameter limit

Column = tuple[str, str]  # (name, SQL type): the type lets a backend ship a column as one array


class Cursor(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Any, /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Dialect(abc.ABC):
    name: str
    timestamp_type: str  # fills the {timestamp} holes of the DDL
    serial_type: str  # fills the {serial} holes: an integer the database numbers in order

    @abc.abstractmethod
    def sql(self, statement: str) -> str:
        """Adapts a statement written with `?` placeholders; it must then be run with params."""

    @abc.abstractmethod
    def append_only(self, tables: Sequence[str]) -> list[str]:
        """DDL that makes the database itself refuse to change or remove rows of `tables`."""

    def statement_references(self) -> list[str]:
        """DDL that checks entries' transactions once per statement instead of once per row.

        The default keeps the row-level foreign key: cheap where the database
        is in-process.
        """
        return []

    @abc.abstractmethod
    def widen_check(
        self, cursor: Cursor, table: str, column: str, old_list: str, new_list: str
    ) -> None:
        """Makes `CHECK (column IN (old_list))` of `table` allow `new_list` instead."""

    @abc.abstractmethod
    def label_entries(self) -> list[str]:
        """DDL that files each new user entry's reference and metadata in `entry_labels`:
        one row per label, (entry_seq, owner, name, value), names `reference` and
        `metadata.<key>`."""

    @abc.abstractmethod
    def lock_schema(self, cursor: Cursor) -> None:
        """Holds, until commit, the one lock that serialises migrations."""

    @abc.abstractmethod
    def lock_accounts(self, cursor: Cursor, account_ids: Collection[str]) -> None:
        """Holds, until commit, a lock per account: no other batch works on them meanwhile."""

    def claim_shard(self, cursor: Cursor, account_id: str, shards: int) -> int:
        """Holds, until commit, one of the `shards` locks of a system account: which one it got.

        The default serves a backend whose write transaction already excludes
        every other: the first shard is always free.
        """
        return 0

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads that see every committed write."""

    @abc.abstractmethod
    def snapshot(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one read-only transaction: every statement sees the one committed
        state its first statement saw, and writers neither wait for it nor are seen by it."""

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction that commits durably on exit."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def insert(
        self, cursor: Cursor, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
        conflict: str = "",
    ) -> None:
        """Inserts `rows` (tuples in `columns` order); `conflict` is an ON CONFLICT clause.

        The default runs the statement once per row, which costs nothing more
        where the database is in-process.
        """
        if rows:
            names, marks = ", ".join(n for n, _ in columns), ", ".join("?" * len(columns))
            cursor.executemany(self.sql(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}"), rows)

    def matching(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """WHERE clauses, with their params, that together select `column` IN `values`."""
        for start in range(0, len(values), IN_LIST_SIZE_MAX):
            chunk = list(values[start:start + IN_LIST_SIZE_MAX])
            yield f"{column} IN ({', '.join('?' * len(chunk))})", chunk

    def timestamp_in(self, moment: datetime) -> Any:
        return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)

    def timestamp_out(self, stored: Any) -> datetime:
        if isinstance(stored, datetime):
            return stored.astimezone(UTC)
        return datetime.strptime(str(stored), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
