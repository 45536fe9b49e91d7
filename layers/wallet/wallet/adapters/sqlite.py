"""SQLite: the embedded default. One file, WAL, and fsync on every commit.

`synchronous=FULL` makes each commit durable before it returns, which is what
lets the consumer acknowledge a batch; batching amortises that fsync. Readers
get one connection per thread, so WAL lets them run beside the writer; a
snapshot (verification's reads) is one read transaction on that connection.
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


# Labels come from the row just inserted; json_each reads the metadata object's pairs.
_LABEL_ENTRIES = """CREATE TRIGGER entries_labelled AFTER INSERT ON entries
WHEN NEW.account_id NOT LIKE 'system:%' AND (NEW.reference IS NOT NULL OR NEW.metadata IS NOT NULL)
BEGIN
    INSERT INTO entry_labels (entry_seq, owner, name, value)
        SELECT NEW.seq, NEW.account_id, 'reference', NEW.reference WHERE NEW.reference IS NOT NULL;
    INSERT INTO entry_labels (entry_seq, owner, name, value)
        SELECT NEW.seq, NEW.account_id, 'metadata.' || key, value FROM json_each(NEW.metadata)
        WHERE NEW.metadata IS NOT NULL;
END"""


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

    def widen_check(
        self, cursor: Cursor, table: str, column: str, old_list: str, new_list: str
    ) -> None:
        """SQLite cannot alter a constraint. Its documented way for a CHECK, which changes
        no stored row, is to edit the table's schema text and bump schema_version, so
        every connection reloads it; the write lock held here keeps them out meanwhile."""
        old, new = f"{column} IN ({old_list})", f"{column} IN ({new_list})"
        cursor.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
                       (table,))
        text = str(cursor.fetchone()[0])
        assert text.count(old) == 1, f"{table}'s CHECK on {column} is migration 1's"
        cursor.execute("PRAGMA schema_version")
        version = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA writable_schema = ON")
        try:
            cursor.execute("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?",
                           (text.replace(old, new), table))
            cursor.execute(f"PRAGMA schema_version = {version + 1}")
        finally:
            cursor.execute("PRAGMA writable_schema = OFF")

    def label_entries(self) -> list[str]:
        return [_LABEL_ENTRIES]

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
    def snapshot(self) -> Iterator[Cursor]:
        """A deferred read transaction on this thread's connection: in WAL mode its first
        read pins the snapshot every later read of it sees, and the writer goes on beside
        it (the WAL grows past the pinned point until it ends, then checkpoints as usual)."""
        connection = self._connection()
        assert not connection.in_transaction, "a snapshot opens inside no other transaction"
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN DEFERRED")
            yield cursor
        except sqlite3.OperationalError as exc:
            raise Unavailable("the database is busy; retry") from exc
        finally:
            cursor.close()
            connection.rollback()  # it wrote nothing: ending it releases the pinned snapshot

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

