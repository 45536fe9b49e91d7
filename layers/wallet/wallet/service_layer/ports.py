"""Ports: what the service layer needs from the outside world.

Adapters implement these; the service layer and the domain import nothing
else. Each port is the smallest surface that both the embedded engines
(SQLite, in-process log and pub/sub) and the distributed ones can honour.
"""

import abc
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from wallet.domain.access import Principal, SocketLimits
from wallet.domain.commands import Envelope
from wallet.domain.events import Outcome
from wallet.domain.holds import Hold
from wallet.domain.journal import JournalEntry
from wallet.domain.ledger import BalanceKey
from wallet.domain.rate_limits import Allowance, Rate

Applied = tuple[Envelope, Outcome]


@dataclass(frozen=True)
class AmountRange:
    currency: str
    minor_min: int | None
    minor_max: int | None


@dataclass(frozen=True)
class HistoryQuery:
    account_id: str | None  # None: every user's wallet (operators only)
    limit: int
    after_seq: int | None = None  # the cursor: the last entry of the previous page
    ascending: bool = False
    entry_type: str | None = None
    currency: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    amount_ranges: tuple[AmountRange, ...] = ()
    by_amount: bool = False  # sorted by amount (then seq), not by seq alone
    after_amount_minor: int | None = None  # the cursor's amount, when sorted by amount
    # Exact matches on the transaction's labels: ("reference", r) and ("metadata.<key>", v).
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    transaction_id: str
    entry_type: str  # deposit | payout | transfer_in | transfer_out
    currency: str
    amount_minor: int  # positive: the direction is in entry_type
    balance_after_minor: int
    counterparty: str | None
    created_at: datetime
    account_id: str = ""  # whose entry it is; one wallet's history need not say
    reference: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    hold_id: str | None = None  # a capture's hold


@dataclass(frozen=True)
class Accounts:
    """What a batch reads of the accounts it locked: balances, and money held in them."""

    balances: dict[BalanceKey, int]
    held: dict[BalanceKey, int]


@dataclass(frozen=True)
class WalletBalances:
    """A wallet's balance and held money per currency; currencies it never held are absent."""

    balances: dict[str, int]
    held: dict[str, int]  # only currencies with money held

    def available(self, currency: str) -> int:
        return self.balances.get(currency, 0) - self.held.get(currency, 0)


@dataclass(frozen=True)
class HoldQuery:
    account_id: str | None  # None: every user's holds (operators only)
    limit: int
    status: str | None = None
    after_seq: int | None = None  # the cursor: the last hold of the previous page


@dataclass(frozen=True)
class StoredHold:
    seq: int  # the hold's position, newest highest: what a cursor names
    hold: Hold


@dataclass(frozen=True)
class AuditedAccount:
    """One balances row, as verification reads it."""

    account_id: str  # as stored: a system account's shard
    currency: str
    balance_minor: int
    held_minor: int
    head: str | None  # the hash of its newest entry; None before the chain existed


class JournalSnapshot(abc.ABC):
    """The ledger as one instant left it, for verification: every read sees the same
    commits, whatever commits meanwhile, so an account's balance, head and entries agree."""

    @abc.abstractmethod
    def audited_accounts(self, user_id: str | None) -> list[AuditedAccount]:
        """Every balances row of this user (None: of every account, system shards too)."""

    @abc.abstractmethod
    def journal(
        self, account_id: str, currency: str, after_seq: int, limit: int
    ) -> list[JournalEntry]:
        """One account's entries (`account_id` as stored) in chain order, after `after_seq`."""

    @abc.abstractmethod
    def unbalanced_transactions(self, user_id: str | None, limit: int) -> list[tuple[str, int]]:
        """(transaction id, sum of its postings) for committed transactions whose postings do
        not sum to zero, among this user's (None: all)."""


class LedgerBatch(abc.ABC):
    """One database transaction of the consumer: read what a batch needs, then write it."""

    @abc.abstractmethod
    def load_balances(self, keys: Collection[BalanceKey]) -> Accounts: ...

    @abc.abstractmethod
    def load_holds(
        self, hold_ids: Collection[str], wallet_ids: Collection[str], due_by: datetime
    ) -> dict[str, Hold]:
        """The holds named, and the active holds of these wallets that expire by `due_by`."""

    @abc.abstractmethod
    def load_outcomes(self, command_ids: Collection[str]) -> dict[str, Outcome]: ...

    @abc.abstractmethod
    def save(self, applied: Sequence[Applied], accounts: Accounts,
             holds: Collection[Hold]) -> None:
        """Writes new outcomes only: a command id is never written twice. `accounts` holds
        the balances and held amounts that changed, `holds` the holds that changed."""


class LedgerStore(abc.ABC):
    @abc.abstractmethod
    def migrate(self) -> int:
        """Applies pending migrations and returns the schema version."""

    @abc.abstractmethod
    def batch(self) -> AbstractContextManager[LedgerBatch]:
        """Commits on normal exit, durably, and rolls back on an exception."""

    @abc.abstractmethod
    def outcome(self, command_id: str) -> Outcome | None: ...

    @abc.abstractmethod
    def balances(self, account_id: str, at: datetime | None = None) -> WalletBalances:
        """Now, or as they stood at `at`: one index seek per currency, whatever the history."""

    @abc.abstractmethod
    def history(self, query: HistoryQuery) -> list[HistoryEntry]: ...

    @abc.abstractmethod
    def hold(self, hold_id: str) -> Hold | None: ...

    @abc.abstractmethod
    def holds(self, query: HoldQuery) -> list[StoredHold]:
        """Newest first, at most `query.limit`."""

    @abc.abstractmethod
    def due_holds(self, now: datetime, limit: int) -> list[Hold]:
        """Active holds past their expiry, soonest first: what a sweeper expires."""

    @abc.abstractmethod
    def journal_snapshot(self) -> AbstractContextManager[JournalSnapshot]:
        """Reads of one committed state until exit, which ends them. Writers are neither
        blocked nor seen meanwhile; the reads page, so memory does not grow with history."""

    @abc.abstractmethod
    def currencies(self, account_id: str | None) -> list[str]:
        """Currencies this wallet (None: any user's wallet) ever held, sorted."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raises Unavailable unless the store answers a trivial query."""

    @abc.abstractmethod
    def close(self) -> None: ...


class LogFull(Exception):
    """The log refused an append; the caller must not claim acceptance."""


class CommandLog(abc.ABC):
    @abc.abstractmethod
    def append(self, key: str, value: bytes) -> None:
        """Returns once the record is stored; raises LogFull or Unavailable otherwise."""

    def close(self) -> None:
        """Flushes and releases what the log holds open; the default holds nothing."""
        return None


@dataclass(frozen=True)
class LogRecord:
    partition: int
    offset: int
    value: bytes


class CommandSource(abc.ABC):
    """The consumer side of the log: poll, then commit only after the database commit."""

    @abc.abstractmethod
    def poll(self, records_max: int, timeout_ms: int) -> list[LogRecord]: ...

    @abc.abstractmethod
    def commit(self, records: Sequence[LogRecord]) -> None: ...

    @abc.abstractmethod
    def rewind(self) -> None:
        """Forgets uncommitted progress so the next poll redelivers it."""

    def ready(self, timeout_ms: int) -> bool:
        """Waits until records can arrive (a consumer group was joined); the default is ready."""
        return True

    def lag(self) -> dict[int, int]:
        """Records not yet committed, per partition this member holds; empty when unknown."""
        return {}

    def close(self) -> None:
        """Leaves the consumer group, if there is one; the default holds nothing."""
        return None


class DeadLetters(abc.ABC):
    """Where a record goes that can never be applied, so it does not block its partition."""

    @abc.abstractmethod
    def send(self, value: bytes, reason: str) -> None:
        """Returns once the record is stored; raises otherwise, so the batch is retried."""

    def close(self) -> None:
        """Flushes what is in flight; the default holds nothing."""
        return None


class Subscription(abc.ABC):
    @abc.abstractmethod
    def close(self) -> None: ...


class PubSub(abc.ABC):
    @abc.abstractmethod
    def publish(self, channel: str, messages: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def subscribe(
        self, channel: str, callback: Callable[[Sequence[str]], None]
    ) -> Subscription:
        """Calls `callback` with batches of messages, on a thread of the adapter's."""

    def close(self) -> None:
        """Releases connections; the default holds none."""
        return None


@dataclass(frozen=True)
class CachedBalances:
    generation: int
    balances: dict[str, int] | None  # None: a miss; fill it with `put` and this generation


class BalanceCache(abc.ABC):
    """Balances by wallet, filled by readers and invalidated by the consumer.

    The consumer invalidates after its database commit and before it publishes,
    so a reader who saw a 201 can never be served the older balance. A filler
    that raced an invalidation holds a stale generation, and its `put` is
    ignored.
    """

    @abc.abstractmethod
    def get(self, account_id: str) -> CachedBalances: ...

    @abc.abstractmethod
    def put(self, account_id: str, generation: int, balances: Mapping[str, int]) -> None: ...

    @abc.abstractmethod
    def invalidate(self, account_ids: Collection[str]) -> None: ...

    def close(self) -> None:
        """Releases connections and threads; the default holds none."""
        return None


class PendingCommands(abc.ABC):
    """202s still in flight, shared by every gateway, so any of them can answer the Location.

    Only a hint for reads: the store is the truth once the command applies,
    and an adapter that cannot answer says None rather than failing a read.
    """

    @abc.abstractmethod
    def remember(self, command_id: str, owner: str) -> None: ...

    @abc.abstractmethod
    def owner(self, command_id: str) -> str | None: ...


class TokenCodec(abc.ABC):
    @abc.abstractmethod
    def verify(self, token: str) -> Principal:
        """Raises Unauthorized for anything but a valid, unexpired token."""

    @abc.abstractmethod
    def issue(self, principal: Principal, ttl_s: int) -> str: ...


class Connections(abc.ABC):
    """Websocket connections the relay may push to, and hang up on."""

    @abc.abstractmethod
    def add(self, connection_id: str, principal: Principal, limits: SocketLimits) -> None:
        """Raises TooManyConnections when this user holds `limits.per_user_max` already, and
        Unavailable when the registry holds `limits.per_process_max`. Check and add are one
        step, so racing connects cannot overshoot a cap."""

    @abc.abstractmethod
    def remove(self, connection_id: str) -> None: ...

    @abc.abstractmethod
    def audience(self, user_ids: Collection[str]) -> Iterator[tuple[str, Principal]]:
        """Connections that may see events of these wallets: their owners and operators."""

    @abc.abstractmethod
    def send(self, connection_id: str, text: str) -> bool:
        """False when the connection is gone; the relay then forgets it."""

    @abc.abstractmethod
    def expired(self, now_epoch_s: float) -> list[str]:
        """Connections whose token has expired by now."""

    @abc.abstractmethod
    def hang_up(self, connection_id: str, code: int, reason: str) -> None:
        """Closes the client's socket with this close code; messages not yet sent are dropped."""


class RateLimiter(abc.ABC):
    """Token buckets by key (see domain/rate_limits.py), refilled and drawn on in one step."""

    @abc.abstractmethod
    def take(self, bucket: str, rate: Rate) -> Allowance:
        """Takes one token if there is one. Never raises for an outage of its store: a
        limiter that cannot reach its buckets answers from buckets of its own."""

    def close(self) -> None:
        """Releases connections; the default holds none."""
        return None


class Metrics:
    """What the service layer reports about its own work; this default reports nowhere.

    Only counts, sizes and durations: no method takes a user id, a token or
    anything else a caller sent, so no series can leak one.
    """

    def batch_applied(self, size: int, duration_s: float) -> None:
        return None

    def dead_lettered(self) -> None:
        return None

    def events_published(self, count: int) -> None:
        return None

    def events_fanned_out(self, count: int) -> None:
        return None

    def rate_limited(self, bucket_kind: str) -> None:
        """A request refused with 429; `bucket_kind` is user, operator or address, never an id."""
        return None

    def watch_waiters(self, in_flight: Callable[[], int]) -> None:
        """`in_flight` is read whenever the metrics are read, never in between."""
        return None

    def watch_lag(self, lag: Callable[[], Mapping[int, int]]) -> None:
        """`lag` gives records not yet applied per partition; it is sampled, not pushed."""
        return None

    def watch_stall(self, stalled_s: Callable[[], float]) -> None:
        """`stalled_s` gives how long commands have waited with none applied; read on scrape."""
        return None


NO_METRICS = Metrics()
