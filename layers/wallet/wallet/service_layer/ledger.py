"""Applying a batch of commands: the heart of the consumer.

The whole batch is one database transaction. A command whose id is already
recorded is not applied again: a retry with the same request gets the stored
outcome, and one with a different request is refused as a reused key. Only
after the commit are outcomes published, so every event describes durable
state.
"""

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from wallet.domain.codec import decode_envelope, encode_outcome
from wallet.domain.commands import CaptureHold, Envelope, ExpireHold, VoidHold
from wallet.domain.errors import Unavailable, ValidationError
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.holds import expiry_envelope
from wallet.domain.ledger import SYSTEM_ACCOUNTS, Book, HoldChange, Rejection, accounts
from wallet.service_layer.ports import (
    NO_METRICS,
    Accounts,
    Applied,
    BalanceCache,
    DeadLetters,
    LedgerBatch,
    LedgerStore,
    Metrics,
    PubSub,
)

log = logging.getLogger("wallet.ledger")

Clock = Callable[[], datetime]


# Holds that expire this soon are loaded with the batch, so a command later in it, whose clock
# has moved on, still sees them expire first. Beyond a batch's own duration, by far.
EXPIRY_HORIZON = timedelta(seconds=5)


def apply_batch(
    store: LedgerStore, cache: BalanceCache, envelopes: Sequence[Envelope], clock: Clock
) -> list[Outcome]:
    """Applies envelopes in order, commits durably, and returns the outcomes to publish.

    A redelivered command with the same request is left out: its outcome was
    published when it was first applied, and publishing it again would push a
    stale balance to dashboards.

    Before each command, every hold of its wallets that is past its expiry
    expires, as the command its id names (`expiry_command_id`): expiry
    happens in order with the wallet's other commands, whether a sweeper
    asked for it or the next command on the wallet came first.
    """
    started = time.perf_counter()
    with store.batch() as batch:
        book = _book(batch, envelopes, clock() + EXPIRY_HORIZON)
        known = batch.load_outcomes({e.command_id for e in envelopes})
        # A redelivery may follow a consumer that died between its commit and its
        # invalidation; invalidating its wallets again is cheap and closes that gap.
        replayed = {account for e in envelopes if e.command_id in known
                    for account in accounts(e.command)}
        applied: list[Applied] = []
        decided: list[Outcome | None] = []
        for envelope in envelopes:
            now = clock()
            for hold in book.due_holds(_wallets(envelope), now):
                decided.append(_decide(expiry_envelope(hold), known, book, applied, now))
            decided.append(_decide(envelope, known, book, applied, now))
        batch.save(applied, Accounts(book.changed, book.held_changed), book.holds_changed.values())
    cache.invalidate({account for account, _ in [*book.changed, *book.held_changed]} | replayed)
    log.info("batch applied", extra={"size": len(envelopes), "applied": len(applied),
             "duration_ms": round((time.perf_counter() - started) * 1000, 3)})
    return [outcome for outcome in decided if outcome is not None]


def _book(batch: LedgerBatch, envelopes: Sequence[Envelope], due_by: datetime) -> Book:
    """Locks and loads every account the batch may touch, and the holds it may change.

    A due hold in another currency than the batch's commands touches one more
    balance of a wallet already locked: its row is read under the same lock.
    """
    keys = {(account, e.command.currency) for e in envelopes for account in accounts(e.command)}
    loaded = batch.load_balances(keys)
    hold_ids = {e.command.hold_id for e in envelopes
                if isinstance(e.command, CaptureHold | VoidHold | ExpireHold)}
    wallets = {wallet for e in envelopes for wallet in _wallets(e)}
    holds = batch.load_holds(hold_ids, wallets, due_by)
    extra = {(h.user_id, h.currency) for h in holds.values()} - keys
    if extra:
        more = batch.load_balances(extra)
        loaded = Accounts(loaded.balances | more.balances, loaded.held | more.held)
    return Book(loaded.balances, loaded.held, holds)


def _wallets(envelope: Envelope) -> Collection[str]:
    return [a for a in accounts(envelope.command) if a not in SYSTEM_ACCOUNTS]


def _decide(
    envelope: Envelope, known: dict[str, Outcome], book: Book, applied: list[Applied],
    now: datetime,
) -> Outcome | None:
    earlier = known.get(envelope.command_id)
    if earlier is not None:
        return _replay(envelope, earlier, now)
    result = book.post(envelope.command, envelope.command_id, now)
    if result is None:
        return None  # an expiry with nothing to expire: nothing happened, nothing is recorded
    outcome: Outcome
    if isinstance(result, Rejection):
        outcome = CommandRejected(envelope.command_id, envelope.request_hash, result, now,
                                  envelope.command.wallet_id, envelope.attempt_id)
    elif isinstance(result, HoldChange):
        outcome = HoldUpdated(envelope.command_id, envelope.request_hash, result,
                              envelope.attempt_id)
    else:
        outcome = TransactionCommitted(envelope.command_id, envelope.request_hash, result,
                                       envelope.attempt_id)
    known[envelope.command_id] = outcome
    applied.append((envelope, outcome))
    return outcome


def _replay(envelope: Envelope, earlier: Outcome, now: datetime) -> Outcome | None:
    if earlier.request_hash == envelope.request_hash:
        return None
    reused = Rejection("idempotency_key_reused",
                       "this Idempotency-Key was already used with a different request")
    return CommandRejected(envelope.command_id, envelope.request_hash, reused, now,
                           envelope.command.wallet_id, envelope.attempt_id)


def reject(
    store: LedgerStore, envelope: Envelope, rejection: Rejection, now: datetime
) -> CommandRejected | None:
    """Records `rejection` as the command's outcome, in a transaction of its own that writes
    nothing of the command but its id, request hash, wallet, kind and amount; None if the
    command has an outcome already."""
    with store.batch() as batch:
        if batch.load_outcomes({envelope.command_id}):
            return None
        rejected = CommandRejected(envelope.command_id, envelope.request_hash, rejection, now,
                                   envelope.command.wallet_id, envelope.attempt_id)
        batch.save([(envelope, rejected)], Accounts({}, {}), ())
    return rejected


EVENTS_CHANNEL = "wallet.events"
UNAPPLIABLE_REASON = "failed while applied"
UNPROCESSABLE = Rejection(
    "unprocessable_command",
    "the ledger could not apply this request; nothing of it was applied, and it was set aside "
    "for an operator. Retrying it will not help: change the request, or contact support")


@dataclass(frozen=True)
class Record:
    """A decoded command and the bytes it came in, which a dead letter keeps as they were."""

    envelope: Envelope
    value: bytes


@dataclass(frozen=True)
class Poison:
    """A record of the batch that can never be applied: its index in the batch, and why."""

    index: int
    reason: str


class LedgerConsumer:
    """Decodes a polled batch, applies it, and publishes what happened.

    A record that can never be applied (undecodable, or failing validation) is
    poison. `apply` skips it and names it, for an event source that is told of
    failures (Lambda's Kafka event source mapping, `wallet bridge`, the local
    poller) to send to its on-failure destination; `handle` sends it to the
    dead letters itself. Either way that happens before the batch's offsets
    can be committed, so a poison record neither blocks its partition nor
    vanishes. Publishing comes after the commit and may fail: events are
    notifications, and waiters and dashboards fall back on the store, so a
    pub/sub outage costs latency, never money.

    A command that decodes but raises while it is applied is poison too, found
    by halving its batch (`_apply_isolating`): the others commit, and it is
    dead-lettered and rejected as `unprocessable_command`, which its client
    receives. Only `Unavailable`, the database's own outage, fails the batch.
    """

    def __init__(
        self, store: LedgerStore, cache: BalanceCache, pubsub: PubSub,
        dead_letters: DeadLetters, clock: Clock, metrics: Metrics = NO_METRICS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._cache, self._pubsub, self._clock = store, cache, pubsub, clock
        self._dead_letters, self._metrics, self._monotonic = dead_letters, metrics, monotonic
        # When the batch in hand was first handed over, until one is applied: a batch retried
        # through an outage keeps its first time, so the stall's age is the ledger's own.
        self._pending_since: float | None = None

    def stalled_s(self) -> float:
        """How long commands have waited while this consumer applied nothing; 0 if none wait."""
        since = self._pending_since
        return 0.0 if since is None else self._monotonic() - since

    def handle(self, values: Sequence[bytes]) -> list[Outcome]:
        """Dead-letters the poison first: a dead letter that cannot be stored fails the batch."""
        records, poison = self._split(values)
        for each in poison:
            self._dead_letters.send(values[each.index], each.reason)
        return self._apply(records)

    def apply(self, values: Sequence[bytes]) -> tuple[list[Outcome], list[Poison]]:
        """Applies every command the batch holds and names the undecodable poison; raises if
        the store is unavailable, so the whole batch is retried."""
        records, poison = self._split(values)
        return self._apply(records), poison

    def _split(self, values: Sequence[bytes]) -> tuple[list[Record], list[Poison]]:
        records: list[Record] = []
        poison: list[Poison] = []
        for index, value in enumerate(values):
            decoded = _decode(value)
            if isinstance(decoded, Envelope):
                records.append(Record(decoded, value))
            else:
                poison.append(Poison(index, decoded))
                self._metrics.dead_lettered()
        return records, poison

    def _apply(self, records: Sequence[Record]) -> list[Outcome]:
        if not records:
            return []
        started = time.perf_counter()
        if self._pending_since is None:
            self._pending_since = self._monotonic()
        outcomes = self._apply_isolating(records)
        self._pending_since = None
        self._metrics.batch_applied(len(records), time.perf_counter() - started)
        self._publish(outcomes)
        return outcomes

    def _apply_isolating(self, records: Sequence[Record]) -> list[Outcome]:
        """Applies the records, halving a batch that raises until the raising command is alone.

        Halves keep their order, so a wallet's commands still apply in log
        order. The depth is log2 of the batch size, so one poison command in a
        batch of n costs about 2 log2(n) transactions, once.
        """
        try:
            return apply_batch(self._store, self._cache, [r.envelope for r in records],
                               self._clock)
        except Unavailable:
            raise  # the database's outage: every command waits for it, none is to blame
        except Exception:  # any other failure is the batch's content, isolated
            if len(records) > 1:
                middle = len(records) // 2
                return [*self._apply_isolating(records[:middle]),
                        *self._apply_isolating(records[middle:])]
        return self._alone(records[0])

    def _alone(self, record: Record) -> list[Outcome]:
        """A command that raised alone. Once more, since a commit that lost a race on its id
        raises too and then succeeds; raising again, it is poison."""
        try:
            return apply_batch(self._store, self._cache, [record.envelope], self._clock)
        except Unavailable:
            raise
        except Exception as exc:  # the command is to blame: set it aside
            return self._set_aside(record, exc)

    def _set_aside(self, record: Record, error: Exception) -> list[Outcome]:
        """Dead-letters the command, then records its rejection for its client.

        In that order: a crash between the two redelivers the command, which
        raises again and is set aside again (a second letter, never a lost
        one). The reason names the error's type only: its text may quote the
        command's content.
        """
        envelope = record.envelope
        log.error("command failed while applied; dead-lettered and rejected",
                  extra={"command_id": envelope.command_id, "error": type(error).__name__})
        self._dead_letters.send(record.value, f"{UNAPPLIABLE_REASON}: {type(error).__name__}")
        self._metrics.dead_lettered()
        try:
            rejected = reject(self._store, envelope, UNPROCESSABLE, self._clock())
        except Unavailable:
            raise
        except Exception:  # the letter holds it; the client's Location says so
            log.exception("a poison command's rejection could not be stored",
                          extra={"command_id": envelope.command_id})
            return []
        return [] if rejected is None else [rejected]

    def _publish(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        try:
            self._pubsub.publish(EVENTS_CHANNEL, [encode_outcome(o) for o in outcomes])
            self._metrics.events_published(len(outcomes))
        except Unavailable:
            log.warning("events not published; waiters will read the store",
                        extra={"outcomes": len(outcomes)})


def _decode(value: bytes) -> Envelope | str:
    """The command a record carries, or why it is poison: the one test of poison."""
    try:
        return decode_envelope(value)
    except ValidationError as exc:
        log.error("poison command", extra={"reason": exc.message})
        return exc.message
