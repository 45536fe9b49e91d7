"""The ledger on SQL: one implementation for every dialect.

A consumer batch is one database transaction: lock the accounts it touches
(the dialect's lock, taken first and in one fixed order, so concurrent
consumers cannot deadlock), read their balances and the outcomes of its
command ids (so a redelivered command is answered from the record instead of
applied twice), then write with a few `executemany` calls.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from wallet.adapters.sql_dialect import Column, Cursor, Dialect
from wallet.adapters.sql_migrations import USERS_ONLY, migrate
from wallet.domain.commands import Envelope
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import (
    SYSTEM_ACCOUNTS,
    BalanceKey,
    Posting,
    Rejection,
    Transaction,
    entry_type,
    kind_of,
)
from wallet.service_layer.ports import (
    Applied,
    HistoryEntry,
    HistoryQuery,
    LedgerBatch,
    LedgerStore,
)

_TRANSACTION_COLUMNS: tuple[Column, ...] = (
    ("id", "text"), ("request_hash", "text"), ("status", "text"), ("kind", "text"),
    ("currency", "text"), ("amount", "bigint"), ("error_code", "text"),
    ("error_message", "text"), ("created_at", "text"), ("wallet_id", "text"),
    ("attempt_id", "text"))
_ENTRY_COLUMNS: tuple[Column, ...] = (
    ("seq", "bigint"), ("transaction_id", "text"), ("entry_type", "text"), ("currency", "text"),
    ("amount", "bigint"), ("balance_after", "bigint"), ("counterparty", "text"),
    ("created_at", "text"), ("account_id", "text"))
_BALANCE_COLUMNS: tuple[Column, ...] = (
    ("account_id", "text"), ("currency", "text"), ("balance", "bigint"))
# Every deposit debits system:deposits: one balance row for it would make every batch that
# holds a deposit wait for the last one's commit. Each system account is split in this many
# shard accounts ("system:deposits", "system:deposits:1", ...), each an exact account of its
# own; a batch holds one shard, and the account's balance is their sum.
SYSTEM_SHARDS = 8
_TRANSACTION_NAMES = ", ".join(name for name, _ in _TRANSACTION_COLUMNS)
_ENTRY_NAMES = ", ".join(name for name, _ in _ENTRY_COLUMNS)


class SqlLedgerStore(LedgerStore):
    def __init__(self, dialect: Dialect) -> None:
        self._db = dialect

    def migrate(self) -> int:
        return migrate(self._db)

    @contextmanager
    def batch(self) -> Iterator[LedgerBatch]:
        with self._db.write() as cursor:
            yield _SqlBatch(self._db, cursor)

    def outcome(self, command_id: str) -> Outcome | None:
        with self._db.read() as cursor:
            return _load_outcomes(self._db, cursor, [command_id]).get(command_id)

    def balances(self, account_id: str) -> dict[str, int]:
        if account_id in SYSTEM_ACCOUNTS:
            return self._system_balances(account_id)
        with self._db.read() as cursor:
            cursor.execute(
                self._db.sql("SELECT currency, balance FROM balances WHERE account_id = ?"),
                (account_id,),
            )
            return {currency: int(balance) for currency, balance in cursor.fetchall()}

    def _system_balances(self, account_id: str) -> dict[str, int]:
        with self._db.read() as cursor:
            cursor.execute(self._db.sql(
                "SELECT currency, SUM(balance) FROM balances "
                "WHERE account_id = ? OR account_id LIKE ? GROUP BY currency"),
                (account_id, f"{account_id}:%"))
            return {currency: int(balance) for currency, balance in cursor.fetchall()}

    def history(self, query: HistoryQuery) -> list[HistoryEntry]:
        statement, params = history_statement(self._db, query)
        with self._db.read() as cursor:
            cursor.execute(statement, params)
            return [_history_entry(self._db, row) for row in cursor.fetchall()]

    def currencies(self, account_id: str | None) -> list[str]:
        where, params = _owner(account_id)
        with self._db.read() as cursor:
            cursor.execute(self._db.sql(
                f"SELECT DISTINCT currency FROM balances WHERE {where} ORDER BY currency"), params)
            return [currency for (currency,) in cursor.fetchall()]

    def ping(self) -> None:
        with self._db.read() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def close(self) -> None:
        self._db.close()


class _SqlBatch(LedgerBatch):
    def __init__(self, dialect: Dialect, cursor: Cursor) -> None:
        self._db, self._cursor = dialect, cursor
        self._shards: dict[str, str] = {}  # a system account: the shard this batch holds

    def load_balances(self, keys: Collection[BalanceKey]) -> dict[BalanceKey, int]:
        """Locks first: every read after it, the outcomes' too, sees the last holder's commit.

        System shards come first, in account order, then the wallets in key
        order: every wait points further along that one order, so no cycle.
        A system account's balance here is its shard's.
        """
        accounts = sorted({account for account, _ in keys})
        self._shards = {account: _shard(account, self._db.claim_shard(
            self._cursor, account, SYSTEM_SHARDS)) for account in accounts
            if account in SYSTEM_ACCOUNTS}
        self._db.lock_accounts(self._cursor, [a for a in accounts if a not in self._shards])
        stored = [self._shards.get(account, account) for account in accounts]
        found: dict[BalanceKey, int] = {}
        for where, params in self._db.matching("account_id", stored):
            self._cursor.execute(self._db.sql(
                f"SELECT account_id, currency, balance FROM balances WHERE {where}"), params)
            found.update(((_logical(a), c), int(b)) for a, c, b in self._cursor.fetchall())
        return {key: balance for key, balance in found.items() if key in keys}

    def load_outcomes(self, command_ids: Collection[str]) -> dict[str, Outcome]:
        return _load_outcomes(self._db, self._cursor, list(command_ids))

    def save(self, applied: Sequence[Applied], balances: Mapping[BalanceKey, int]) -> None:
        # By id: two batches racing to insert the same ids then wait in one order, not in a cycle.
        rows = sorted((_transaction_row(self._db, *one) for one in applied), key=lambda r: r[0])
        self._db.insert(self._cursor, "transactions", _TRANSACTION_COLUMNS, rows)
        entries = [row for _, outcome in applied
                   for row in _entry_rows(self._db, outcome, self._shards)]
        self._db.insert(self._cursor, "entries", _ENTRY_COLUMNS[1:], entries)
        self._db.insert(
            self._cursor, "balances", _BALANCE_COLUMNS,
            sorted((self._shards.get(a, a), c, b) for (a, c), b in balances.items()),
            "ON CONFLICT (account_id, currency) DO UPDATE SET balance = excluded.balance")


def _shard(account_id: str, number: int) -> str:
    """The first shard keeps the account's own name: rows written before shards stay in it."""
    return account_id if number == 0 else f"{account_id}:{number}"


def _logical(stored_account_id: str) -> str:
    """The account a stored row belongs to: a shard's system account, else the id itself."""
    head, _, tail = stored_account_id.rpartition(":")
    return head if head in SYSTEM_ACCOUNTS and tail.isdigit() else stored_account_id


def _transaction_row(db: Dialect, envelope: Envelope, outcome: Outcome) -> tuple[Any, ...]:
    command, attempt = envelope.command, outcome.attempt_id or None
    if isinstance(outcome, CommandRejected):
        return (envelope.command_id, envelope.request_hash, "rejected", kind_of(command),
                command.currency, command.amount_minor, outcome.rejection.code,
                outcome.rejection.message, db.timestamp_in(outcome.rejected_at),
                outcome.wallet_id, attempt)
    t = outcome.transaction
    return (t.id, envelope.request_hash, "committed", t.kind, t.currency, t.amount_minor,
            None, None, db.timestamp_in(t.created_at), envelope.command.wallet_id, attempt)


def _entry_rows(
    db: Dialect, outcome: Outcome, shards: Mapping[str, str]
) -> list[tuple[Any, ...]]:
    """The counterparty is named as the domain knows it; only the owner is a shard."""
    if isinstance(outcome, CommandRejected):
        return []
    t = outcome.transaction
    created = db.timestamp_in(t.created_at)
    debit, credit = t.postings  # the Book posts exactly two: each is the other's counterparty
    return [(t.id, entry_type(t.kind, posting.amount_minor), t.currency, posting.amount_minor,
             posting.balance_after_minor, other.account_id, created,
             shards.get(posting.account_id, posting.account_id))
            for posting, other in ((debit, credit), (credit, debit))]


def _load_outcomes(db: Dialect, cursor: Cursor, command_ids: list[str]) -> dict[str, Outcome]:
    rows: list[Any] = []
    for where, params in db.matching("id", command_ids):
        cursor.execute(db.sql(f"SELECT {_TRANSACTION_NAMES} FROM transactions WHERE {where}"),
                       params)
        rows.extend(cursor.fetchall())
    committed = [row[0] for row in rows if row[2] == "committed"]
    postings = _load_postings(db, cursor, committed)
    return {row[0]: _outcome(db, row, postings.get(row[0], ())) for row in rows}


def _load_postings(
    db: Dialect, cursor: Cursor, transaction_ids: list[str]
) -> dict[str, tuple[Posting, ...]]:
    found: dict[str, tuple[Posting, ...]] = {}
    for where, params in db.matching("transaction_id", transaction_ids):
        cursor.execute(db.sql(
            "SELECT transaction_id, account_id, amount, balance_after FROM entries "
            f"WHERE {where} ORDER BY seq"), params)
        for transaction_id, account_id, amount, after in cursor.fetchall():
            posting = Posting(_logical(account_id), int(amount), int(after))
            found[transaction_id] = (*found.get(transaction_id, ()), posting)
    return found


def _outcome(db: Dialect, row: Any, postings: tuple[Posting, ...]) -> Outcome:
    identifier, request_hash, status, kind, currency, amount, code, message, created, wallet, \
        attempt = row
    moment, attempt_id = db.timestamp_out(created), attempt or ""
    if status == "rejected":
        rejection = Rejection(code, message)
        return CommandRejected(identifier, request_hash, rejection, moment, wallet, attempt_id)
    transaction = Transaction(identifier, kind, currency, int(amount), moment, postings)
    return TransactionCommitted(identifier, request_hash, transaction, attempt_id)


def history_statement(db: Dialect, query: HistoryQuery) -> tuple[str, list[Any]]:
    """The statement a history page runs, in the dialect's own form (also for EXPLAIN)."""
    where, params = _history_filter(db, query)
    direction = "ASC" if query.ascending else "DESC"
    order = f"ABS(amount) {direction}, seq {direction}" if query.by_amount else \
        f"seq {direction}"
    statement = f"SELECT {_ENTRY_NAMES} FROM entries WHERE {where} ORDER BY {order} LIMIT ?"
    return db.sql(statement), [*params, query.limit]


def _owner(account_id: str | None) -> tuple[str, list[Any]]:
    """One wallet, or every user's wallet: system accounts are the world outside.

    The users-only clause, also beside one wallet's id, is what lets the
    planner use the history indexes, which hold users' entries only.
    """
    if account_id is None:
        return USERS_ONLY, []
    return f"account_id = ? AND {USERS_ONLY}", [account_id]


def _after(query: HistoryQuery) -> tuple[str, list[Any]]:
    """Keyset paging: entries strictly past the cursor in the page's own order."""
    if query.after_seq is None:
        return "", []
    op = ">" if query.ascending else "<"
    if not query.by_amount:
        return f"seq {op} ?", [query.after_seq]
    amount = query.after_amount_minor
    assert amount is not None, "an amount-sorted cursor carries its amount"
    # A row comparison, not an OR, lets PostgreSQL seek the amount index to the cursor; the
    # redundant bound on the amount alone is what SQLite seeks on.
    return f"(ABS(amount), seq) {op} (?, ?) AND ABS(amount) {op}= ?", \
        [amount, query.after_seq, amount]


def _history_filter(db: Dialect, query: HistoryQuery) -> tuple[str, list[Any]]:
    owner, params = _owner(query.account_id)
    clauses: list[str] = [owner]
    after, after_params = _after(query)
    if after:
        clauses.append(after)
        params.extend(after_params)
    optional = (
        ("entry_type = ?", query.entry_type),
        ("currency = ?", query.currency),
        ("created_at >= ?", query.created_from and db.timestamp_in(query.created_from)),
        ("created_at <= ?", query.created_to and db.timestamp_in(query.created_to)),
    )
    for clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if query.amount_ranges:
        ranges, range_params = _amount_ranges(query)
        clauses.append(ranges)
        params.extend(range_params)
    return " AND ".join(clauses), params


def _amount_ranges(query: HistoryQuery) -> tuple[str, list[Any]]:
    """Amount bounds are per currency, since a minor unit means different things in each."""
    alternatives: list[str] = []
    params: list[Any] = []
    for bounds in query.amount_ranges:
        parts: list[str] = ["currency = ?"]
        values: list[Any] = [bounds.currency]
        if bounds.minor_min is not None:
            parts.append("ABS(amount) >= ?")
            values.append(bounds.minor_min)
        if bounds.minor_max is not None:
            parts.append("ABS(amount) <= ?")
            values.append(bounds.minor_max)
        alternatives.append("(" + " AND ".join(parts) + ")")
        params.extend(values)
    return "(" + " OR ".join(alternatives) + ")", params


def _history_entry(db: Dialect, row: Any) -> HistoryEntry:
    seq, transaction_id, entry_type, currency, amount, after, counterparty, created, owner = row
    return HistoryEntry(int(seq), transaction_id, entry_type, currency, abs(int(amount)),
                        int(after), counterparty, db.timestamp_out(created), owner)
