"""SQLite: the embedded default. One file, WAL, and fsync on every commit.

`synchronous=FULL` makes each commit durable before it returns, which is what
lets the consumer acknowledge a batch; batching amortises that fsync. Readers
get one connection per thread, so WAL lets them run beside the writer.
"""

import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from wallet.adapters.sql_dialect import Cursor, Dialect
from wallet.domain.errors import Unavailable

BUSY_TIMEOUT_MS = 10_000
WAL_SETUP_ATTEMPTS_MAX, WAL_SETUP_BACKOFF_MS = 200, 50  # 10 s, like the busy timeout

_APPEND_ONLY = (
    "CREATE TRIGGER {table}_no_{action} BEFORE {action} ON {table} "
    "BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
)


class SQLiteDialect(Dialect):
    name = "sqlite"
    timestamp_type = "TEXT"
    serial_type = "INTEGER"  # an INTEGER PRIMARY KEY is the rowid: numbered in insert order

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def sql(self, statement: str) -> str:
        return statement

    def append_only(self, tables: Sequence[str]) -> list[str]:
        """SQLite has no TRUNCATE: a DELETE without WHERE fires the DELETE trigger too."""
        return [_APPEND_ONLY.format(table=table, action=action)
                for table in tables for action in ("UPDATE", "DELETE")]

    def lock_schema(self, cursor: Cursor) -> None:
        """BEGIN IMMEDIATE already holds the one write lock: migrations take turns."""

    def lock_accounts(self, cursor: Cursor, account_ids: Collection[str]) -> None:
        """BEGIN IMMEDIATE already holds the one write lock: batches take turns."""

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        cursor = self._connection().cursor()
        try:
            yield cursor
        except sqlite3.OperationalError as exc:
            raise Unavailable("the database is busy; retry") from exc
        finally:
            cursor.close()

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        connection = self._connection()
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            yield cursor
        except sqlite3.OperationalError as exc:
            connection.rollback()
            raise Unavailable("the database is busy; retry") from exc
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()

    def close(self) -> None:
        with self._guard:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                )
            except sqlite3.OperationalError as exc:
                raise Unavailable("the database could not be opened; retry") from exc
            try:
                _configure(connection)
            except sqlite3.OperationalError as exc:
                connection.close()
                raise Unavailable("the database could not be opened; retry") from exc
            self._local.connection = connection
            with self._guard:
                self._connections.append(connection)
        return connection


def _configure(connection: sqlite3.Connection) -> None:
    """Turning a new file to WAL needs an exclusive lock that ignores the busy timeout."""
    for attempt in range(WAL_SETUP_ATTEMPTS_MAX):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == WAL_SETUP_ATTEMPTS_MAX - 1:
                raise
            time.sleep(WAL_SETUP_BACKOFF_MS / 1000)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")

