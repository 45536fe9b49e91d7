"""The ledger on SQL: one implementation for every dialect.

A consumer batch is one database transaction: lock the accounts it touches
(the dialect's lock, taken first and in one fixed order, so concurrent
consumers cannot deadlock), read their balances and the outcomes of its
command ids (so a redelivered command is answered from the record instead of
applied twice), then write with a few `executemany` calls.

Every entry is chained to the one before it on its account (domain/journal.py):
the batch holds the account's lock, so the head it read from the balances row
is still the head when it writes the next entry and the new head.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from wallet.adapters import sql_holds
from wallet.adapters.sql_audit import SqlJournalSnapshot
from wallet.adapters.sql_dialect import Column, Cursor, Dialect
from wallet.adapters.sql_history import history_entry, history_statement, owner_clause
from wallet.adapters.sql_migrations import USERS_ONLY, migrate
from wallet.domain.commands import Envelope, kind_of
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.holds import Hold
from wallet.domain.journal import GENESIS, link, metadata_of, metadata_text
from wallet.domain.ledger import (
    SYSTEM_ACCOUNTS,
    BalanceKey,
    HoldChange,
    Posting,
    Rejection,
    Transaction,
    entry_type,
)
from wallet.service_layer.ports import (
    Accounts,
    Applied,
    HistoryEntry,
    HistoryQuery,
    HoldQuery,
    JournalSnapshot,
    LedgerBatch,
    LedgerStore,
    StoredHold,
    WalletBalances,
)

_TRANSACTION_COLUMNS: tuple[Column, ...] = (
    ("id", "text"), ("request_hash", "text"), ("status", "text"), ("kind", "text"),
    ("currency", "text"), ("amount", "bigint"), ("error_code", "text"),
    ("error_message", "text"), ("created_at", "text"), ("wallet_id", "text"),
    ("attempt_id", "text"))
_ENTRY_COLUMNS: tuple[Column, ...] = (
    ("transaction_id", "text"), ("entry_type", "text"), ("currency", "text"),
    ("amount", "bigint"), ("balance_after", "bigint"), ("counterparty", "text"),
    ("created_at", "text"), ("account_id", "text"), ("reference", "text"),
    ("metadata", "text"), ("hold_id", "text"), ("hash", "text"))
_BALANCE_COLUMNS: tuple[Column, ...] = (
    ("account_id", "text"), ("currency", "text"), ("balance", "bigint"), ("held", "bigint"),
    ("head", "text"))
# Every deposit debits system:deposits: one balance row for it would make every batch that
# holds a deposit wait for the last one's commit. Each system account is split in this many
# shard accounts ("system:deposits", "system:deposits:1", ...), each an exact account of its
# own; a batch holds one shard, and the account's balance is their sum.
SYSTEM_SHARDS = 8
_TRANSACTION_NAMES = ", ".join(name for name, _ in _TRANSACTION_COLUMNS)
_UPSERT_BALANCE = ("ON CONFLICT (account_id, currency) DO UPDATE SET balance = excluded.balance, "
                   "held = excluded.held, head = excluded.head")


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

    def balances(self, account_id: str, at: datetime | None = None) -> WalletBalances:
        if account_id in SYSTEM_ACCOUNTS:
            assert at is None, "a system account's past is its shards': no API asks for it"
            return WalletBalances(self._system_balances(account_id), {})
        with self._db.read() as cursor:
            cursor.execute(self._db.sql(
                "SELECT currency, balance, held FROM balances WHERE account_id = ?"),
                (account_id,))
            rows = cursor.fetchall()
            if at is not None:
                return self._balances_at(cursor, account_id, [row[0] for row in rows], at)
        return WalletBalances({currency: int(balance) for currency, balance, _ in rows},
                              {currency: int(held) for currency, _, held in rows if held})

    def _balances_at(
        self, cursor: Cursor, account_id: str, currencies: list[str], at: datetime
    ) -> WalletBalances:
        """Per currency, the last entry and the last hold change at or before `at`: one
        index seek each (entries_at, hold_entries_at), so O(log n) in the wallet's entries.
        A currency the wallet had not yet held then is absent, as it would have been."""
        balances: dict[str, int] = {}
        held: dict[str, int] = {}
        for currency in currencies:
            cursor.execute(self._db.sql(
                "SELECT balance_after FROM entries WHERE account_id = ? AND currency = ? "
                f"AND created_at <= ? AND {USERS_ONLY} ORDER BY created_at DESC, seq DESC "
                "LIMIT 1"), (account_id, currency, self._db.timestamp_in(at)))
            row = cursor.fetchone()
            then_held = sql_holds.held_at(self._db, cursor, account_id, currency, at)
            if row is not None or then_held is not None:
                balances[currency] = 0 if row is None else int(row[0])
            if then_held:
                held[currency] = then_held
        return WalletBalances(balances, held)

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
            return [history_entry(self._db, row) for row in cursor.fetchall()]

    def hold(self, hold_id: str) -> Hold | None:
        with self._db.read() as cursor:
            return sql_holds.hold_of_id(self._db, cursor, hold_id)

    def holds(self, query: HoldQuery) -> list[StoredHold]:
        with self._db.read() as cursor:
            return sql_holds.holds_page(self._db, cursor, query)

    def due_holds(self, now: datetime, limit: int) -> list[Hold]:
        with self._db.read() as cursor:
            return sql_holds.due(self._db, cursor, now, limit)

    @contextmanager
    def journal_snapshot(self) -> Iterator[JournalSnapshot]:
        with self._db.snapshot() as cursor:
            yield SqlJournalSnapshot(self._db, cursor)

    def currencies(self, account_id: str | None) -> list[str]:
        where, params = owner_clause(account_id)
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
        # By stored account and currency: [balance, held, chain head] as this batch found them.
        self._rows: dict[BalanceKey, list[Any]] = {}

    def load_balances(self, keys: Collection[BalanceKey]) -> Accounts:
        """Locks first: every read after it, the outcomes' too, sees the last holder's commit.

        System shards come first, in account order, then the wallets in key
        order: every wait points further along that one order, so no cycle.
        A system account's balance here is its shard's. A second call may
        only add currencies of accounts the first one locked.
        """
        accounts = sorted({account for account, _ in keys})
        self._shards.update({account: _shard(account, self._db.claim_shard(
            self._cursor, account, SYSTEM_SHARDS)) for account in accounts
            if account in SYSTEM_ACCOUNTS and account not in self._shards})
        self._db.lock_accounts(self._cursor, [a for a in accounts if a not in self._shards])
        stored = [self._shards.get(account, account) for account in accounts]
        for where, params in self._db.matching("account_id", stored):
            self._cursor.execute(self._db.sql(
                f"SELECT account_id, currency, balance, held, head FROM balances WHERE {where}"),
                params)
            for a, c, b, h, head in self._cursor.fetchall():
                self._rows[(a, c)] = [int(b), int(h), head]
        found = {key: self._rows[self._stored(key)] for key in keys if self._stored(key) in
                 self._rows}
        return Accounts({key: row[0] for key, row in found.items()},
                        {key: row[1] for key, row in found.items() if row[1]})

    def load_holds(
        self, hold_ids: Collection[str], wallet_ids: Collection[str], due_by: datetime
    ) -> dict[str, Hold]:
        return sql_holds.load_holds(self._db, self._cursor, hold_ids, wallet_ids, due_by)

    def load_outcomes(self, command_ids: Collection[str]) -> dict[str, Outcome]:
        return _load_outcomes(self._db, self._cursor, list(command_ids))

    def save(self, applied: Sequence[Applied], accounts: Accounts,
             holds: Collection[Hold]) -> None:
        # By id: two batches racing to insert the same ids then wait in one order, not in a cycle.
        rows = sorted((_transaction_row(self._db, *one) for one in applied), key=lambda r: r[0])
        self._db.insert(self._cursor, "transactions", _TRANSACTION_COLUMNS, rows)
        entries = [row for _, outcome in applied for row in self._entry_rows(outcome)]
        self._db.insert(self._cursor, "entries", _ENTRY_COLUMNS, entries)
        self._db.insert(self._cursor, "hold_entries", sql_holds.HOLD_ENTRY_COLUMNS,
                        sql_holds.hold_entry_rows(self._db, applied))
        sql_holds.save_holds(self._db, self._cursor, holds)
        self._db.insert(self._cursor, "balances", _BALANCE_COLUMNS,
                        self._balance_rows(accounts), _UPSERT_BALANCE)

    def _stored(self, key: BalanceKey) -> BalanceKey:
        return self._shards.get(key[0], key[0]), key[1]

    def _balance_rows(self, accounts: Accounts) -> list[tuple[Any, ...]]:
        rows = []
        for key in sorted({*accounts.balances, *accounts.held}):
            stored = self._stored(key)
            balance, held, head = self._rows.get(stored, [0, 0, None])
            rows.append((*stored, accounts.balances.get(key, balance),
                         accounts.held.get(key, held), head))
        return sorted(rows)

    def _entry_rows(self, outcome: Outcome) -> list[tuple[Any, ...]]:
        """Each entry chained to its account's head, which moves on to the entry's hash.

        The counterparty is named as the domain knows it; only the owner is a shard.
        """
        transaction = _transaction_of(outcome)
        if transaction is None:
            return []
        t, db = transaction, self._db
        created, metadata = db.timestamp_in(t.created_at), metadata_text(t.metadata)
        debit, credit = t.postings  # the Book posts exactly two: each is the other's counterparty
        rows = []
        for posting, other in ((debit, credit), (credit, debit)):
            account = self._stored((posting.account_id, t.currency))
            kind = entry_type(t.kind, posting.amount_minor)
            state = self._rows.setdefault(account, [0, 0, None])
            state[2] = link(state[2] or GENESIS, (
                t.id, account[0], t.currency, posting.amount_minor, posting.balance_after_minor,
                kind, other.account_id, created, t.reference, metadata, t.hold_id))
            rows.append((t.id, kind, t.currency, posting.amount_minor,
                         posting.balance_after_minor, other.account_id, created, account[0],
                         t.reference, metadata, t.hold_id, state[2]))
        return rows


def _shard(account_id: str, number: int) -> str:
    """The first shard keeps the account's own name: rows written before shards stay in it."""
    return account_id if number == 0 else f"{account_id}:{number}"


def _logical(stored_account_id: str) -> str:
    """The account a stored row belongs to: a shard's system account, else the id itself."""
    head, _, tail = stored_account_id.rpartition(":")
    return head if head in SYSTEM_ACCOUNTS and tail.isdigit() else stored_account_id


def _transaction_of(outcome: Outcome) -> Transaction | None:
    """The money an outcome moved, if any: a committed transaction's, or a capture's."""
    if isinstance(outcome, TransactionCommitted):
        return outcome.transaction
    if isinstance(outcome, HoldUpdated):
        return outcome.change.transaction
    return None


def _transaction_row(db: Dialect, envelope: Envelope, outcome: Outcome) -> tuple[Any, ...]:
    command, attempt = envelope.command, outcome.attempt_id or None
    if isinstance(outcome, CommandRejected):
        return (envelope.command_id, envelope.request_hash, "rejected", kind_of(command),
                command.currency, command.amount_minor, outcome.rejection.code,
                outcome.rejection.message, db.timestamp_in(outcome.rejected_at),
                outcome.wallet_id, attempt)
    if isinstance(outcome, HoldUpdated):
        moment = outcome.change.hold.updated_at
        return (envelope.command_id, envelope.request_hash, "committed", kind_of(command),
                command.currency, command.amount_minor, None, None, db.timestamp_in(moment),
                command.wallet_id, attempt)
    t = outcome.transaction
    return (t.id, envelope.request_hash, "committed", t.kind, t.currency, t.amount_minor,
            None, None, db.timestamp_in(t.created_at), envelope.command.wallet_id, attempt)


def _load_outcomes(db: Dialect, cursor: Cursor, command_ids: list[str]) -> dict[str, Outcome]:
    rows: list[Any] = []
    for where, params in db.matching("id", command_ids):
        cursor.execute(db.sql(f"SELECT {_TRANSACTION_NAMES} FROM transactions WHERE {where}"),
                       params)
        rows.extend(cursor.fetchall())
    committed = [row for row in rows if row[2] == "committed"]
    moved = _load_transactions(db, cursor, [row for row in committed
                                            if row[3] not in sql_holds.HOLD_KINDS
                                            or row[3] == "capture"])
    changes = sql_holds.load_hold_changes(
        db, cursor, [row[0] for row in committed if row[3] in sql_holds.HOLD_KINDS])
    return {row[0]: _outcome(db, row, moved, changes) for row in rows}


def _load_transactions(db: Dialect, cursor: Cursor, rows: list[Any]) -> dict[str, Transaction]:
    """The committed transactions these rows record, with their postings and labels."""
    by_id = {row[0]: row for row in rows}
    postings: dict[str, list[Posting]] = {}
    labels: dict[str, tuple[Any, Any, Any]] = {}
    for where, params in db.matching("transaction_id", list(by_id)):
        cursor.execute(db.sql(
            "SELECT transaction_id, account_id, amount, balance_after, reference, metadata, "
            f"hold_id FROM entries WHERE {where} ORDER BY seq"), params)
        for transaction_id, account_id, amount, after, ref, metadata, hold in cursor.fetchall():
            postings.setdefault(transaction_id, []).append(
                Posting(_logical(account_id), int(amount), int(after)))
            labels[transaction_id] = (ref, metadata, hold)
    found = {}
    for identifier, row in by_id.items():
        kind, currency, amount, created = row[3], row[4], row[5], row[8]
        reference, metadata, hold_id = labels.get(identifier, (None, None, None))
        found[identifier] = Transaction(
            identifier, kind, currency, int(amount), db.timestamp_out(created),
            tuple(postings.get(identifier, ())), reference, metadata_of(metadata), hold_id)
    return found


def _outcome(
    db: Dialect, row: Any, moved: Mapping[str, Transaction],
    changes: Mapping[str, tuple[Hold, int, int, int]],
) -> Outcome:
    identifier, request_hash, status, kind, _, _, code, message, created, wallet, attempt = row
    moment, attempt_id = db.timestamp_out(created), attempt or ""
    if status == "rejected":
        rejection = Rejection(code, message)
        return CommandRejected(identifier, request_hash, rejection, moment, wallet, attempt_id)
    if kind in sql_holds.HOLD_KINDS:
        hold, delta, held, balance = changes[identifier]
        change = HoldChange(hold, delta, held, balance, moved.get(identifier))
        return HoldUpdated(identifier, request_hash, change, attempt_id)
    return TransactionCommitted(identifier, request_hash, moved[identifier], attempt_id)
