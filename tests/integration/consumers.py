"""Consumers for the concurrency tests: each one a store of its own, on a thread or a process.

A consumer applies its batches one round at a time, and every consumer
starts a round together at a barrier, so the rounds really race. Like the
poller, it retries a batch whose commit lost a race on an id (an
IntegrityError); unlike the poller, it gives up after a few attempts, since
a batch that keeps failing here is a bug. Any other error escapes.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier

import psycopg
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.domain.commands import Envelope
from wallet.domain.events import Outcome
from wallet.service_layer.ledger import apply_batch

ATTEMPTS_MAX = 4
POOL_SIZE_MAX = 2  # a consumer writes on one connection at a time
BARRIER_TIMEOUT_S = 30

Rounds = Sequence[Sequence[Envelope]]  # one batch per round
Barrier = threading.Barrier | ProcessBarrier


@dataclass
class Consumed:
    outcomes: list[Outcome]  # what the consumer would publish, in order
    retried: list[int]  # the rounds whose batch had to be retried


def now() -> datetime:
    return datetime.now(UTC)


def apply_with_retries(
    store: SqlLedgerStore, cache: MemoryBalanceCache, batch: Sequence[Envelope]
) -> tuple[list[Outcome], int]:
    """The outcomes, and how many attempts failed first."""
    for attempt in range(ATTEMPTS_MAX):
        try:
            return apply_batch(store, cache, batch, now), attempt
        except psycopg.IntegrityError:
            if attempt == ATTEMPTS_MAX - 1:
                raise
    raise AssertionError("the loop returns or raises")


def consume(store: SqlLedgerStore, rounds: Rounds, start: Barrier) -> Consumed:
    cache, consumed = MemoryBalanceCache(), Consumed([], [])
    try:
        for number, batch in enumerate(rounds):
            start.wait(BARRIER_TIMEOUT_S)
            outcomes, failed_attempts = apply_with_retries(store, cache, batch)
            consumed.outcomes.extend(outcomes)
            consumed.retried.extend([number] if failed_attempts else [])
    except BaseException:
        start.abort()  # frees the other consumers at once, instead of at the barrier timeout
        raise
    return consumed


def consume_in_process(
    url: str, rounds: Rounds, start: ProcessBarrier, results: "Queue[Consumed | str]"
) -> None:
    """A process's entry point: its own pool, as a separate consumer process has."""
    store = SqlLedgerStore(PostgresDialect(url, POOL_SIZE_MAX))
    try:
        results.put(consume(store, rounds, start))
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        store.close()
