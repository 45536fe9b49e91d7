"""PostgreSQL: one ledger shared by several consumer processes.

Connections come from a bounded pool. Reads run in autocommit, so each
statement sees every commit before it; verification instead reads one
snapshot, in a read-only transaction (`snapshot`). A write is one READ
COMMITTED transaction that commits on exit; under PostgreSQL's default
`synchronous_commit = on` the commit returns only once its WAL is flushed to
disk, which is what lets a consumer acknowledge its batch.

Why several consumers can neither deadlock, lose an update, nor overdraw:

- A batch first takes a transaction-scoped advisory lock per account it
  touches, in one statement and in ascending key order, before any other
  lock. A batch waiting for a key holds only smaller keys, so every wait
  points to a larger key and the waits can never close a cycle.
- An advisory lock exists before the account has a row. `SELECT ... FOR
  UPDATE` locks only rows that exist: two batches crediting a new wallet
  would both read no balance, both write 0 + x, and one credit would vanish.
- Under READ COMMITTED each statement after the lock takes a fresh snapshot,
  and a commit is visible before the committer's locks are released. So the
  balances, and then the outcomes, read after the lock are what the previous
  holder left: a command delivered to two consumers locks the same accounts
  in both, and the second finds the first's outcome instead of applying it
  again. Each account's entries are also numbered (`seq`) in commit order,
  so a history cursor never skips an entry that commits late.
- System accounts are kept in shards (see sql_store.SYSTEM_SHARDS), each an
  exact account: its balances row and every entry's `balance_after` run in
  commit order, and that `balance_after` is part of the outcome the consumer
  publishes, so a shard is held from read to commit. A batch first claims
  one free shard per system account it touches (a try-lock per shard, from a
  random start; only if all are taken does it wait, for one), in account
  order and before any wallet's lock. A batch waiting for a shard holds no
  wallet lock and no other shard of that account, so the waits still follow
  one order and cannot close a cycle. Deposit batches on several consumers
  therefore no longer take turns on `system:deposits`; its balance is the sum
  of its shards.

Two different commands under one id (a key reused with another request) may
lock different accounts and race to insert the same transaction id (in id
order, so these waits cannot form a cycle either). The loser gets an
`IntegrityError`, which propagates: the caller retries the whole batch, and
the retry finds the winner's outcome.
"""

import hashlib
import random
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from wallet.adapters.sql_dialect import Column, Cursor, Dialect
from wallet.domain.errors import Unavailable

POOL_SIZE_MIN = 1  # one warm connection; the rest open on demand
POOL_TIMEOUT_S = 5.0  # the longest a caller waits for a pooled connection, server down or not
CONNECT_TIMEOUT_S = 5
LOCK_TIMEOUT_MS = 10_000  # like SQLite's busy timeout: a lock wait beyond this is an outage
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000  # a stuck client releases its locks after this

# Advisory locks are keyed (class, object), both 32-bit: fixed classes keep the wallet's
# locks apart from any other application's on the same database.
SCHEMA_LOCK_CLASS = 0x5741_4C00
ACCOUNT_LOCK_CLASS = 0x5741_4C01
SYSTEM_LOCK_CLASS = 0x5741_4C02  # system account shards: taken before any account lock

_REFUSE_CHANGE = """CREATE OR REPLACE FUNCTION journal_refuses_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$"""
# The journal is append-only, so a transaction, once there, stays: checking the entries a
# statement adds is the whole of the foreign key's work, done with one join, not a query per row.
_ORPHANS_REFUSED = """CREATE FUNCTION entries_refuse_orphans() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added LEFT JOIN transactions ON transactions.id = added.transaction_id
               WHERE transactions.id IS NULL) THEN
        RAISE EXCEPTION 'an entry names no transaction: foreign key violated'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$"""
_STATEMENT_REFERENCES = (
    "ALTER TABLE entries DROP CONSTRAINT entries_transaction_id_fkey",
    _ORPHANS_REFUSED,
    "CREATE TRIGGER entries_reference_transactions AFTER INSERT ON entries "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION entries_refuse_orphans()",
)
# Once per statement, from the rows it added: one INSERT per batch, however many entries.
_LABEL_ENTRIES = (
    """CREATE FUNCTION entries_label() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entry_labels (entry_seq, owner, name, value)
        SELECT seq, account_id, 'reference', reference FROM added
        WHERE reference IS NOT NULL AND account_id NOT LIKE 'system:%'
        UNION ALL
        SELECT added.seq, added.account_id, 'metadata.' || pair.key, pair.value
        FROM added, jsonb_each_text(added.metadata::jsonb) AS pair
        WHERE added.metadata IS NOT NULL AND added.account_id NOT LIKE 'system:%';
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER entries_labelled AFTER INSERT ON entries "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION entries_label()",
)
_APPEND_ONLY = (
    "CREATE TRIGGER {table}_no_{action} BEFORE {action} ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION journal_refuses_change()"
)


class PostgresDialect(Dialect):
    name = "postgres"
    timestamp_type = "TEXT"  # the same fixed-width UTC text as SQLite: same order, same code
    serial_type = "BIGINT GENERATED ALWAYS AS IDENTITY"

    def __init__(
        self, url: str, pool_size_max: int = 16, pool_timeout_s: float = POOL_TIMEOUT_S
    ) -> None:
        assert pool_size_max >= 1, "a pool needs at least one connection"
        self._pool = ConnectionPool(
            url, min_size=min(POOL_SIZE_MIN, pool_size_max), max_size=pool_size_max,
            timeout=pool_timeout_s, open=False, configure=_configure, name="wallet-ledger",
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        )
        self._pool.open(wait=False)  # an unreachable server is reported by the first use

    def sql(self, statement: str) -> str:
        return statement.replace("%", "%%").replace("?", "%s")

    def append_only(self, tables: Sequence[str]) -> list[str]:
        """Statement triggers: they refuse even a change that would touch no row."""
        triggers = [_APPEND_ONLY.format(table=table, action=action)
                    for table in tables for action in ("UPDATE", "DELETE", "TRUNCATE")]
        return [_REFUSE_CHANGE, *triggers]

    def statement_references(self) -> list[str]:
        """The row-level foreign key cost some 40% of inserting a batch's entries."""
        return list(_STATEMENT_REFERENCES)

    def widen_check(
        self, cursor: Cursor, table: str, column: str, old_list: str, new_list: str
    ) -> None:
        """PostgreSQL names a column's CHECK `<table>_<column>_check`."""
        name = f"{table}_{column}_check"
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}, "
                       f"ADD CONSTRAINT {name} CHECK ({column} IN ({new_list}))")

    def label_entries(self) -> list[str]:
        return list(_LABEL_ENTRIES)

    def lock_schema(self, cursor: Cursor) -> None:
        """Taken before `schema_version` exists: concurrent CREATE TABLE IF NOT EXISTS can fail."""
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", (SCHEMA_LOCK_CLASS,))

    def lock_accounts(self, cursor: Cursor, account_ids: Collection[str]) -> None:
        """One statement, ascending keys: since 9.6 the lock calls run after the ORDER BY."""
        keys = sorted({account_lock_key(account) for account in account_ids})
        if keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, key) "
                           "FROM unnest(%s::integer[]) AS locks (key) ORDER BY key",
                           (ACCOUNT_LOCK_CLASS, keys))

    def insert(
        self, cursor: Cursor, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
        conflict: str = "",
    ) -> None:
        """One statement and one round trip per table, whatever the number of rows.

        Row by row, even pipelined, most of a batch's time went into the
        driver's per-row work. Plain inserts go by binary COPY, which the
        driver formats in C; an upsert needs INSERT, so its columns travel
        as binary arrays.
        """
        if not rows:
            return
        assert isinstance(cursor, psycopg.Cursor), "a cursor of this dialect's own pool"
        names = ", ".join(name for name, _ in columns)
        if conflict:
            arrays = ", ".join(f"%b::{kind}[]" for _, kind in columns)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
                           f"{conflict}", [list(column) for column in zip(*rows, strict=True)])
            return
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _, kind in columns])
            for row in rows:
                copy.write_row(row)

    def matching(self, column: str, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """One array parameter, however many values: no list to chunk, one plan to reuse."""
        if values:
            yield f"{column} = ANY(?)", [list(values)]

    def claim_shard(self, cursor: Cursor, account_id: str, shards: int) -> int:
        """The first free shard from a random start, else a wait for that start's.

        A try-lock never waits, and the one wait happens before the batch
        holds any account lock or another shard of this account.
        """
        start = random.randrange(shards)
        order = [(start + step) % shards for step in range(shards)]
        keys = [account_lock_key(f"{account_id}#{shard}") for shard in order]
        cursor.execute("SELECT place FROM unnest(%s::integer[]) WITH ORDINALITY AS s (key, place) "
                       "WHERE pg_try_advisory_xact_lock(%s, key) LIMIT 1",
                       (keys, SYSTEM_LOCK_CLASS))
        free = cursor.fetchone()
        if free is not None:
            return order[int(free[0]) - 1]
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (SYSTEM_LOCK_CLASS, keys[0]))
        return start

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        try:
            with self._pool.connection() as connection, connection.cursor() as cursor:
                yield cursor
        except psycopg.OperationalError as exc:  # pool timeouts and lost connections too
            raise Unavailable("the database is unreachable or overloaded; retry") from exc

    @contextmanager
    def snapshot(self) -> Iterator[Cursor]:
        """REPEATABLE READ, READ ONLY: every statement reads the snapshot the first one took.

        MVCC serves it from old row versions, so it takes no lock a batch waits
        for, and a read-only transaction never fails to serialise. It holds one
        pooled connection until exit. The reader must keep issuing statements:
        idle between two for IDLE_IN_TRANSACTION_TIMEOUT_MS, the server ends it.
        """
        try:
            with self._pool.connection() as connection, connection.transaction(), \
                    connection.cursor() as cursor:
                # The pool's connections BEGIN at READ COMMITTED (_configure); before any
                # query a transaction may still choose its own level.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cursor
        except psycopg.OperationalError as exc:
            raise Unavailable("the database is unreachable or overloaded; retry") from exc

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """Integrity errors propagate untouched: the caller retries the whole batch."""
        try:
            with self._pool.connection() as connection, connection.transaction(), \
                    connection.cursor() as cursor:
                yield cursor
        except psycopg.OperationalError as exc:  # deadlocks and lock timeouts are among these
            raise Unavailable("the database is unreachable or busy; retry") from exc

    def close(self) -> None:
        self._pool.close()


def account_lock_key(account_id: str) -> int:
    """A stable signed 32-bit key; Python's own hash() differs from process to process.

    Two accounts whose keys collide share one lock: they take turns, nothing worse.
    """
    digest = hashlib.blake2b(account_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _configure(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    """Pins what the locking argument relies on, whatever the server's defaults say."""
    connection.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
    connection.execute(
        "SELECT set_config('lock_timeout', %s, false), "
        "set_config('idle_in_transaction_session_timeout', %s, false)",
        (f"{LOCK_TIMEOUT_MS}ms", f"{IDLE_IN_TRANSACTION_TIMEOUT_MS}ms"),
    )
