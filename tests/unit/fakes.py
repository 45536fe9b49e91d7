"""In-memory fakes that subclass the real ports, so the service layer runs with no I/O.

Each fake honours its port's contract (a batch commits only on normal exit, a
command id is never written twice, pub/sub delivers whole batches) and keeps a
record of what it was asked, so tests can assert on effects rather than calls.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.bootstrap import cursor_key
from wallet.config import Config
from wallet.domain.access import Principal
from wallet.domain.codec import decode_outcome
from wallet.domain.errors import Unavailable
from wallet.domain.events import HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.holds import Hold
from wallet.domain.journal import JournalEntry
from wallet.domain.ledger import BalanceKey, Transaction
from wallet.domain.rate_limits import UNLIMITED
from wallet.entrypoints.request import RequestRules
from wallet.service_layer.ledger import EVENTS_CHANNEL, LedgerConsumer
from wallet.service_layer.ports import (
    Accounts,
    Applied,
    AuditedAccount,
    BalanceCache,
    CachedBalances,
    CommandLog,
    DeadLetters,
    HistoryEntry,
    HistoryQuery,
    HoldQuery,
    JournalSnapshot,
    LedgerBatch,
    LedgerStore,
    LogFull,
    PendingCommands,
    PubSub,
    StoredHold,
    Subscription,
    WalletBalances,
)
from wallet.service_layer.throttle import Throttle
from wallet.service_layer.views import entry_of
from wallet.service_layer.waiters import OutcomeWaiters
from wallet.service_layer.wallet import WalletService

NOW = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
SECRET = "unit-test-secret-" + "0123456789abcdef" * 3  # long enough for HS512 too

ALICE = Principal("alice", "user")
BOB = Principal("bob", "user")
OPERATOR = Principal("ops", "operator")


class FakeLedgerBatch(LedgerBatch):
    def __init__(self, store: FakeLedgerStore) -> None:
        self._store = store
        self.applied: list[Applied] = []
        self.balances: dict[BalanceKey, int] = {}
        self.held: dict[BalanceKey, int] = {}
        self.holds: dict[str, Hold] = {}

    def load_balances(self, keys: Collection[BalanceKey]) -> Accounts:
        rows = self._store
        return Accounts({key: rows.balance_rows[key] for key in keys if key in rows.balance_rows},
                        {key: rows.held_rows[key] for key in keys if key in rows.held_rows})

    def load_holds(
        self, hold_ids: Collection[str], wallet_ids: Collection[str], due_by: datetime
    ) -> dict[str, Hold]:
        return {h.id: h for h in self._store.hold_rows.values()
                if h.id in hold_ids or (h.user_id in wallet_ids and h.active
                                        and h.expires_at <= due_by)}

    def load_outcomes(self, command_ids: Collection[str]) -> dict[str, Outcome]:
        return {i: self._store.outcomes[i] for i in command_ids if i in self._store.outcomes}

    def save(self, applied: Sequence[Applied], accounts: Accounts,
             holds: Collection[Hold]) -> None:
        ids = [envelope.command_id for envelope, _ in [*self.applied, *applied]]
        assert len(ids) == len(set(ids)), "a command id is never written twice"
        assert not set(ids) & set(self._store.outcomes), "a command id is never written twice"
        self.applied.extend(applied)
        self.balances.update(accounts.balances)
        self.held.update(accounts.held)
        self.holds.update({hold.id: hold for hold in holds})


class EmptyJournal(JournalSnapshot):
    """A ledger with no account: what the fake store's snapshot shows."""

    def audited_accounts(self, user_id: str | None) -> list[AuditedAccount]:
        return []

    def journal(
        self, account_id: str, currency: str, after_seq: int, limit: int
    ) -> list[JournalEntry]:
        return []

    def unbalanced_transactions(self, user_id: str | None, limit: int) -> list[tuple[str, int]]:
        return []


class FakeLedgerStore(LedgerStore):
    """Balances, outcomes and history entries in dicts; a batch commits only on normal exit."""

    def __init__(self, balances: Mapping[BalanceKey, int] | None = None) -> None:
        self.balance_rows: dict[BalanceKey, int] = dict(balances or {})
        self.held_rows: dict[BalanceKey, int] = {}
        self.hold_rows: dict[str, Hold] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.entries: list[tuple[str, HistoryEntry]] = []  # (account id, entry)
        self.committed: list[list[Applied]] = []  # what each committed batch saved
        self.history_queries: list[HistoryQuery] = []
        self.balance_reads = 0

    def migrate(self) -> int:
        return 1

    @contextmanager
    def batch(self) -> Iterator[LedgerBatch]:
        batch = FakeLedgerBatch(self)
        yield batch  # an exception leaves the store untouched: a rollback
        self._commit(batch)

    def _commit(self, batch: FakeLedgerBatch) -> None:
        self.committed.append(list(batch.applied))
        for envelope, outcome in batch.applied:
            self.outcomes[envelope.command_id] = outcome
            if isinstance(outcome, TransactionCommitted):
                self.add_entries(outcome.transaction)
            if isinstance(outcome, HoldUpdated) and outcome.change.transaction is not None:
                self.add_entries(outcome.change.transaction)
        self.balance_rows.update(batch.balances)
        self.held_rows.update(batch.held)
        self.hold_rows.update(batch.holds)

    def add_entries(self, transaction: Transaction) -> None:
        for posting in transaction.postings:
            entry = replace(entry_of(transaction, posting), seq=len(self.entries) + 1)
            self.entries.append((posting.account_id, entry))

    def outcome(self, command_id: str) -> Outcome | None:
        return self.outcomes.get(command_id)

    def balances(self, account_id: str, at: datetime | None = None) -> WalletBalances:
        """Point-in-time reads belong to the SQL store's tests: this fake knows only now."""
        self.balance_reads += 1
        return WalletBalances(
            {currency: balance for (account, currency), balance in self.balance_rows.items()
             if account == account_id},
            {currency: held for (account, currency), held in self.held_rows.items()
             if account == account_id and held})

    def hold(self, hold_id: str) -> Hold | None:
        return self.hold_rows.get(hold_id)

    def holds(self, query: HoldQuery) -> list[StoredHold]:
        rows = [StoredHold(seq, hold) for seq, hold in enumerate(self.hold_rows.values(), 1)
                if query.account_id in (None, hold.user_id)
                and query.status in (None, hold.status)
                and (query.after_seq is None or seq < query.after_seq)]
        return sorted(rows, key=lambda row: -row.seq)[: query.limit]

    def due_holds(self, now: datetime, limit: int) -> list[Hold]:
        due = sorted((h for h in self.hold_rows.values() if h.due(now)),
                     key=lambda h: (h.expires_at, h.id))
        return due[:limit]

    @contextmanager
    def journal_snapshot(self) -> Iterator[JournalSnapshot]:
        """Verification runs against the SQL store, whose chains it checks: nothing here."""
        yield EmptyJournal()

    def history(self, query: HistoryQuery) -> list[HistoryEntry]:
        self.history_queries.append(query)
        mine = [entry for account, entry in self.entries
                if query.account_id in (None, account) and _matches(entry, query)
                and not (query.account_id is None and account.startswith("system:"))]
        mine.sort(key=lambda entry: entry.seq, reverse=not query.ascending)
        return mine[: query.limit]

    def currencies(self, account_id: str | None) -> list[str]:
        return sorted({currency for (account, currency) in self.balance_rows
                       if account_id in (None, account) and not account.startswith("system:")})

    def ping(self) -> None:
        """Always reachable: it lives in memory."""

    def close(self) -> None:
        pass


def _matches(entry: HistoryEntry, query: HistoryQuery) -> bool:
    """The filters a page needs; time and amount filters belong to the SQL store's tests."""
    after = query.after_seq
    labels = dict(entry.metadata and [(f"metadata.{k}", v) for k, v in entry.metadata]) | (
        {"reference": entry.reference} if entry.reference is not None else {})
    return ((after is None or (entry.seq > after if query.ascending else entry.seq < after))
            and query.entry_type in (None, entry.entry_type)
            and query.currency in (None, entry.currency)
            and all(labels.get(name) == value for name, value in query.labels))


class FailingBatchStore(FakeLedgerStore):
    """A store whose writes fail, as a lost database connection would, until `down` is
    cleared."""

    down = True

    @contextmanager
    def batch(self) -> Iterator[LedgerBatch]:
        batch = FakeLedgerBatch(self)
        yield batch
        if self.down:
            raise Unavailable("the database went away")
        self._commit(batch)


class PoisonedStore(FakeLedgerStore):
    """A store whose commit raises, as no database outage does, when a batch would commit
    money for one of `poison`'s user ids: what a lone surrogate once did to the hash."""

    def __init__(self, *poison: str) -> None:
        super().__init__()
        self.poison, self.attempts = set(poison), 0

    def _commit(self, batch: FakeLedgerBatch) -> None:
        self.attempts += 1
        if any(isinstance(outcome, TransactionCommitted) and envelope.command.wallet_id
               in self.poison for envelope, outcome in batch.applied):
            raise UnicodeEncodeError("utf-8", "\udfff", 0, 1, "surrogates not allowed")
        super()._commit(batch)


class UnreachableReadsStore(FakeLedgerStore):
    """A store whose reads fail once `down` is set, as PostgreSQL going away would."""

    down = False

    def outcome(self, command_id: str) -> Outcome | None:
        if self.down:
            raise Unavailable("the database is unreachable")
        return super().outcome(command_id)


class SyncLog(CommandLog):
    """Hands each append to the consumer at once, with any held records, as one batch."""

    def __init__(self, consumer: LedgerConsumer | None = None, hold: bool = False) -> None:
        self.consumer, self.hold = consumer, hold
        self.appended: list[tuple[str, bytes]] = []
        self._held: list[bytes] = []

    def append(self, key: str, value: bytes) -> None:
        self.appended.append((key, value))
        self._held.append(value)
        if not self.hold and self.consumer is not None:
            self.deliver()

    def deliver(self) -> list[Outcome]:
        """Hands every held record to the consumer as one batch, as a late poll would."""
        assert self.consumer is not None
        held, self._held = self._held, []
        return self.consumer.handle(held)


class FullLog(CommandLog):
    def __init__(self) -> None:
        self.attempts = 0

    def append(self, key: str, value: bytes) -> None:
        self.attempts += 1
        raise LogFull("every partition is at depth_max")


class _FakeSubscription(Subscription):
    def __init__(self, owner: SyncPubSub, channel: str,
                 callback: Callable[[Sequence[str]], None]) -> None:
        self.owner, self.channel, self.callback = owner, channel, callback

    def close(self) -> None:
        self.owner.subscriptions.remove(self)


class SyncPubSub(PubSub):
    """Calls subscribers on the publishing thread, before `publish` returns."""

    def __init__(self) -> None:
        self.subscriptions: list[_FakeSubscription] = []
        self.published: list[tuple[str, list[str]]] = []

    def publish(self, channel: str, messages: Sequence[str]) -> None:
        self.published.append((channel, list(messages)))
        for subscription in list(self.subscriptions):
            if subscription.channel == channel:
                subscription.callback(list(messages))

    def subscribe(self, channel: str, callback: Callable[[Sequence[str]], None]) -> Subscription:
        subscription = _FakeSubscription(self, channel, callback)
        self.subscriptions.append(subscription)
        return subscription

    def messages(self, channel: str = EVENTS_CHANNEL) -> list[str]:
        return [m for name, batch in self.published if name == channel for m in batch]


class DownPubSub(SyncPubSub):
    """A pub/sub whose server is unreachable: every publish fails as the Redis adapter's would."""

    def publish(self, channel: str, messages: Sequence[str]) -> None:
        raise Unavailable("pub/sub is down")


class RecordingDeadLetters(DeadLetters):
    def __init__(self, failing: bool = False) -> None:
        self.letters: list[tuple[bytes, str]] = []
        self.failing = failing

    def send(self, value: bytes, reason: str) -> None:
        if self.failing:
            raise Unavailable("the dead-letter topic is unreachable")
        self.letters.append((value, reason))


class SharedPending(PendingCommands):
    """What Redis gives several gateways: one map of pending 202s."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def remember(self, command_id: str, owner: str) -> None:
        self.owners[command_id] = owner

    def owner(self, command_id: str) -> str | None:
        return self.owners.get(command_id)


class RecordingCache(BalanceCache):
    """A plain dict cache that remembers every invalidation."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, int]] = {}
        self.generations: dict[str, int] = {}
        self.invalidated: list[set[str]] = []

    def get(self, account_id: str) -> CachedBalances:
        found = self.entries.get(account_id)
        return CachedBalances(self.generations.get(account_id, 0),
                              None if found is None else dict(found))

    def put(self, account_id: str, generation: int, balances: Mapping[str, int]) -> None:
        if generation == self.generations.get(account_id, 0):
            self.entries[account_id] = dict(balances)

    def invalidate(self, account_ids: Collection[str]) -> None:
        self.invalidated.append(set(account_ids))
        for account_id in account_ids:
            self.entries.pop(account_id, None)
            self.generations[account_id] = self.generations.get(account_id, 0) + 1


@dataclass
class RecordingSender:
    """A websocket sender: records what it sends, and reports closed connections as gone."""

    closed: set[str] = field(default_factory=set)
    sent: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, connection_id: str, text: str) -> bool:
        if connection_id in self.closed:
            return False
        self.sent.append((connection_id, text))
        return True

    def to(self, connection_id: str) -> list[str]:
        return [text for target, text in self.sent if target == connection_id]


@dataclass
class RecordingCloser:
    """A websocket closer: records each hang-up as (connection id, close code, reason)."""

    hung_up: list[tuple[str, int, str]] = field(default_factory=list)

    def __call__(self, connection_id: str, code: int, reason: str) -> None:
        self.hung_up.append((connection_id, code, reason))


@dataclass
class Stack:
    """The service layer wired to fakes the way bootstrap wires it to real adapters."""

    store: FakeLedgerStore
    cache: RecordingCache
    pubsub: SyncPubSub
    log: SyncLog
    waiters: OutcomeWaiters
    consumer: LedgerConsumer
    service: WalletService


def stack(
    *, wait_for_commit_ms: int = 1000, waiters_max: int = 100, hold: bool = False,
    store: FakeLedgerStore | None = None, log: CommandLog | None = None,
    pending: PendingCommands | None = None,
) -> Stack:
    store = store or FakeLedgerStore()
    cache, pubsub, waiters = RecordingCache(), SyncPubSub(), OutcomeWaiters(waiters_max)
    consumer = LedgerConsumer(store, cache, pubsub, RecordingDeadLetters(), lambda: NOW)
    sync_log = SyncLog(consumer, hold=hold)
    service = WalletService(store, log or sync_log, cache, waiters, wait_for_commit_ms, pending)
    pubsub.subscribe(EVENTS_CHANNEL, lambda messages: waiters.resolve(
        [decode_outcome(message) for message in messages]))
    return Stack(store, cache, pubsub, sync_log, waiters, consumer, service)


def container(**attributes: Any) -> Any:
    """A stand-in for bootstrap.Container with what the entrypoints touch, and no SQLite.

    bootstrap.build always opens a database, so the edge is tested against this
    instead: `tokens`, `config` and the `request_rules` made of them, no rate limits,
    plus whatever a test adds (`wallet`, `relay`, `throttle`).
    """
    defaults = {"tokens": JwtTokens(SECRET), "config": Config.from_env({}),
                "cursor_key": cursor_key(SECRET),
                "throttle": Throttle(MemoryRateLimiter(), UNLIMITED)}
    wired = SimpleNamespace(**{**defaults, **attributes})
    wired.request_rules = RequestRules(wired.tokens, wired.config.default_currency,
                                       wired.config.amount_minor_max, wired.cursor_key)
    return wired


def rules() -> RequestRules:
    """What a Request is read with, as bootstrap wires it."""
    built: RequestRules = container().request_rules
    return built


def bearer(principal: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {JwtTokens(SECRET).issue(principal, 60)}"}
