"""Applying a batch of commands: the heart of the consumer.

The whole batch is one database transaction. A command whose id is already
recorded is not applied again: a retry with the same request gets the stored
outcome, and one with a different request is refused as a reused key. Only
after the commit are outcomes published, so every event describes durable
state.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wallet.domain.codec import decode_envelope, encode_outcome
from wallet.domain.commands import Envelope
from wallet.domain.errors import Unavailable, ValidationError
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import Book, Rejection, legs
from wallet.service_layer.ports import (
    NO_METRICS,
    Applied,
    BalanceCache,
    DeadLetters,
    LedgerStore,
    Metrics,
    PubSub,
)

log = logging.getLogger("wallet.ledger")

Clock = Callable[[], datetime]


def apply_batch(
    store: LedgerStore, cache: BalanceCache, envelopes: Sequence[Envelope], clock: Clock
) -> list[Outcome]:
    """Applies envelopes in order, commits durably, and returns the outcomes to publish.

    A redelivered command with the same request is left out: its outcome was
    published when it was first applied, and publishing it again would push a
    stale balance to dashboards.
    """
    started = time.perf_counter()
    keys = {(account, e.command.currency) for e in envelopes for account in legs(e.command)}
    with store.batch() as batch:
        book = Book(batch.load_balances(keys))
        known = batch.load_outcomes({e.command_id for e in envelopes})
        # A redelivery may follow a consumer that died between its commit and its
        # invalidation; invalidating its wallets again is cheap and closes that gap.
        replayed = {account for e in envelopes if e.command_id in known
                    for account in legs(e.command)}
        applied: list[Applied] = []
        decided = [_decide(envelope, known, book, applied, clock()) for envelope in envelopes]
        batch.save(applied, book.changed)
    cache.invalidate({account for account, _ in book.changed} | replayed)
    log.info("batch applied", extra={"size": len(envelopes), "applied": len(applied),
             "duration_ms": round((time.perf_counter() - started) * 1000, 3)})
    return [outcome for outcome in decided if outcome is not None]


def _decide(
    envelope: Envelope, known: dict[str, Outcome], book: Book, applied: list[Applied],
    now: datetime,
) -> Outcome | None:
    earlier = known.get(envelope.command_id)
    if earlier is not None:
        return _replay(envelope, earlier, now)
    result = book.post(envelope.command, envelope.command_id, now)
    outcome: Outcome
    if isinstance(result, Rejection):
        outcome = CommandRejected(envelope.command_id, envelope.request_hash, result, now,
                                  envelope.command.wallet_id, envelope.attempt_id)
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


EVENTS_CHANNEL = "wallet.events"


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
    """

    def __init__(
        self, store: LedgerStore, cache: BalanceCache, pubsub: PubSub,
        dead_letters: DeadLetters, clock: Clock, metrics: Metrics = NO_METRICS,
    ) -> None:
        self._store, self._cache, self._pubsub, self._clock = store, cache, pubsub, clock
        self._dead_letters, self._metrics = dead_letters, metrics

    def handle(self, values: Sequence[bytes]) -> list[Outcome]:
        """Dead-letters the poison first: a dead letter that cannot be stored fails the batch."""
        envelopes, poison = self._split(values)
        for each in poison:
            self._dead_letters.send(values[each.index], each.reason)
        return self._apply(envelopes)

    def apply(self, values: Sequence[bytes]) -> tuple[list[Outcome], list[Poison]]:
        """Applies every command the batch holds and names the poison; raises if the store
        cannot take them, so the whole batch is retried."""
        envelopes, poison = self._split(values)
        return self._apply(envelopes), poison

    def _split(self, values: Sequence[bytes]) -> tuple[list[Envelope], list[Poison]]:
        envelopes: list[Envelope] = []
        poison: list[Poison] = []
        for index, value in enumerate(values):
            decoded = _decode(value)
            if isinstance(decoded, Envelope):
                envelopes.append(decoded)
            else:
                poison.append(Poison(index, decoded))
                self._metrics.dead_lettered()
        return envelopes, poison

    def _apply(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        if not envelopes:
            return []
        started = time.perf_counter()
        outcomes = apply_batch(self._store, self._cache, envelopes, self._clock)
        self._metrics.batch_applied(len(envelopes), time.perf_counter() - started)
        self._publish(outcomes)
        return outcomes

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
