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

from wallet.adapters.sql_dialect import Dialect
from wallet.domain.ledger import ENTRY_TYPES

JOURNAL_TABLES = ("transactions", "entries")  # history: never changed, never removed

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


def statements(script: str) -> Iterator[str]:
    """Splits a DDL script whose statements contain no semicolons of their own."""
    return (part.strip() for part in script.split(";") if part.strip())


def _ledger(dialect: Dialect) -> list[str]:
    # The entry types as the domain defines them; a new one needs a migration that widens
    # the CHECK on databases made before it.
    entry_types = ", ".join(f"'{name}'" for name in ENTRY_TYPES)
    tables = LEDGER_TABLES.format(timestamp=dialect.timestamp_type, serial=dialect.serial_type,
                                  entry_types=entry_types)
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


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the journal and balances, with the journal append-only", _ledger),
    Migration(2, "which submission applied each command, so every other copy is a replay",
              _attempts),
    Migration(3, "history pages by amount, of one entry type or within dates read an index",
              _history_pages),
    Migration(4, "entries' transactions checked once per statement, where it costs less",
              lambda dialect: dialect.statement_references()),
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
            cursor.execute(dialect.sql("INSERT INTO schema_version VALUES (?)"),
                           (migration.version,))
    return max(current, SCHEMA_VERSION)
