"""The ledger's schema as an ordered list of migrations: the one place it is defined.

Each migration is a version and the statements that lead to it from the
version before, written once and built for a dialect, so every backend runs
the same SQL with only the dialect's holes filled in. Versions are only ever
appended: `schema_version` records each one applied, so a database created by
any earlier release upgrades step by step, in one transaction.

Several processes may start at once on a fresh database. The dialect's
schema lock, taken before `schema_version` is even created, makes them
migrate one after the other; the later ones find the work done.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wallet.adapters.sql_dialect import Cursor, Dialect
from wallet.domain.holds import HOLD_STATUSES
from wallet.domain.ledger import ENTRY_TYPES, TRANSACTION_KINDS

JOURNAL_TABLES = ("transactions", "entries")  # history: never changed, never removed
# What migration 1 allowed, frozen: later kinds are added by widening these (migration 5),
# so a database made by any release ends with the same constraints.
FIRST_KINDS = ("deposit", "payout", "transfer")
FIRST_ENTRY_TYPES = ("deposit", "payout", "transfer_in", "transfer_out")

LEDGER_TABLES = """
CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'rejected')),
    kind TEXT NOT NULL CHECK (kind IN ({kinds})),
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
    entry_type TEXT NOT NULL CHECK (entry_type IN ({entry_types})),
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


@dataclass(frozen=True)
class Migration:
    version: int
    purpose: str
    statements: Callable[[Dialect], list[str]]
    # A step that must read the database first (SQLite's schema edits), after the statements.
    steps: Callable[[Dialect, Cursor], None] | None = None


def statements(script: str) -> Iterator[str]:
    """Splits a DDL script whose statements contain no semicolons of their own."""
    return (part.strip() for part in script.split(";") if part.strip())


def sql_list(values: tuple[str, ...]) -> str:
    """`'a', 'b'`: how every CHECK (... IN (...)) of this schema spells its list."""
    return ", ".join(f"'{value}'" for value in values)


def _ledger(dialect: Dialect) -> list[str]:
    tables = LEDGER_TABLES.format(timestamp=dialect.timestamp_type, serial=dialect.serial_type,
                                  kinds=sql_list(FIRST_KINDS),
                                  entry_types=sql_list(FIRST_ENTRY_TYPES))
    return [*statements(tables), *dialect.append_only(JOURNAL_TABLES)]


def _attempts(dialect: Dialect) -> list[str]:
    """NULL for rows written before: no waiter of theirs is still in flight to ask."""
    return ["ALTER TABLE transactions ADD COLUMN attempt_id TEXT"]


# Users' entries only: a system account has no history page, and it owns half the entries.
HISTORY_INDEXES = """
CREATE INDEX entries_by_account_amount ON entries (account_id, (ABS(amount)), seq)
    WHERE {users};
CREATE INDEX entries_by_account_type ON entries (account_id, entry_type, seq) WHERE {users};
CREATE INDEX entries_by_account_time ON entries (account_id, created_at) WHERE {users}
"""
USERS_ONLY = "account_id NOT LIKE 'system:%'"  # history queries repeat it, word for word


def _history_pages(dialect: Dialect) -> list[str]:
    """A page sorted by amount, or of one entry type, reads an index from its cursor on.

    A page within dates finds them by time and sorts only what they hold.
    Without these, such a page read the whole history of its wallet. Each
    index costs every insert of a user's entry (all three: about a third of
    the engine's rate, measured), hence no more of them.
    """
    return list(statements(HISTORY_INDEXES.format(users=USERS_ONLY)))


HOLDS_TABLES = """
ALTER TABLE balances ADD COLUMN held BIGINT NOT NULL DEFAULT 0
    CHECK (held >= 0 AND (held <= balance OR account_id LIKE 'system:%'));
ALTER TABLE balances ADD COLUMN head TEXT;
ALTER TABLE entries ADD COLUMN reference TEXT;
ALTER TABLE entries ADD COLUMN metadata TEXT;
ALTER TABLE entries ADD COLUMN hold_id TEXT;
ALTER TABLE entries ADD COLUMN hash TEXT;
CREATE INDEX entries_at ON entries (account_id, currency, created_at, seq) WHERE {users};
CREATE TABLE holds (
    seq {serial} PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    captured BIGINT NOT NULL CHECK (captured >= 0 AND captured <= amount),
    status TEXT NOT NULL CHECK (status IN ({statuses})),
    expires_at {timestamp} NOT NULL,
    created_at {timestamp} NOT NULL,
    updated_at {timestamp} NOT NULL,
    reference TEXT,
    metadata TEXT
);
CREATE INDEX holds_by_account ON holds (account_id, seq);
CREATE INDEX holds_by_account_status ON holds (account_id, status, seq);
CREATE INDEX holds_by_status ON holds (status, seq);
CREATE INDEX holds_due ON holds (expires_at) WHERE status = 'held';
CREATE INDEX holds_due_by_account ON holds (account_id, expires_at) WHERE status = 'held';
CREATE TABLE hold_entries (
    seq {serial} PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    hold_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    held_after BIGINT NOT NULL CHECK (held_after >= 0),
    balance_after BIGINT NOT NULL,
    status TEXT NOT NULL,
    captured BIGINT NOT NULL,
    created_at {timestamp} NOT NULL
);
CREATE INDEX hold_entries_by_transaction ON hold_entries (transaction_id);
CREATE INDEX hold_entries_at ON hold_entries (account_id, currency, created_at, seq);
CREATE TABLE entry_labels (
    entry_seq BIGINT NOT NULL,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (entry_seq, name)
);
CREATE INDEX entry_labels_by_owner ON entry_labels (owner, name, value, entry_seq);
CREATE INDEX entry_labels_by_value ON entry_labels (name, value, entry_seq)
"""


def _holds(dialect: Dialect) -> list[str]:
    """Holds (a state table, like balances), their journal, labels, and the hash chain.

    `hold_entries` is append-only: it journals every change of a wallet's
    held money, which is what a past instant's `available` is read from.
    `entry_labels` is filled by the database itself from each user entry's
    reference and metadata (dialect.label_entries), so a search by label
    seeks an index and pages like history.
    """
    tables = HOLDS_TABLES.format(timestamp=dialect.timestamp_type, serial=dialect.serial_type,
                                 statuses=sql_list(HOLD_STATUSES), users=USERS_ONLY)
    return [*statements(tables), *dialect.append_only(("hold_entries",)),
            *dialect.label_entries()]


def _widen_kinds(dialect: Dialect, cursor: Cursor) -> None:
    dialect.widen_check(cursor, "transactions", "kind", sql_list(FIRST_KINDS),
                        sql_list(TRANSACTION_KINDS))
    dialect.widen_check(cursor, "entries", "entry_type", sql_list(FIRST_ENTRY_TYPES),
                        sql_list(ENTRY_TYPES))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the journal and balances, with the journal append-only", _ledger),
    Migration(2, "which submission applied each command, so every other copy is a replay",
              _attempts),
    Migration(3, "history pages by amount, of one entry type or within dates read an index",
              _history_pages),
    Migration(4, "entries' transactions checked once per statement, where it costs less",
              lambda dialect: dialect.statement_references()),
    Migration(5, "holds, labels, point-in-time reads and a hash chain per account",
              _holds, _widen_kinds),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1)), \
    "versions run 1, 2, 3... with no gap: a database at version n applies n+1 next"


def migrate(dialect: Dialect) -> int:
    """Applies every migration newer than the database, and returns its version."""
    with dialect.write() as cursor:
        dialect.lock_schema(cursor)
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        cursor.execute("SELECT MAX(version) FROM schema_version")
        current = int(cursor.fetchone()[0] or 0)
        for migration in MIGRATIONS[current:]:
            for statement in migration.statements(dialect):
                cursor.execute(statement)
            if migration.steps is not None:
                migration.steps(dialect, cursor)
            cursor.execute(dialect.sql("INSERT INTO schema_version VALUES (?)"),
                           (migration.version,))
    return max(current, SCHEMA_VERSION)
