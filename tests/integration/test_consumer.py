"""apply_batch and LedgerConsumer on each SQL backend, in-process pub/sub and the memory cache."""

import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

import pytest
from wallet.adapters.inprocess_pubsub import InProcessPubSub
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.memory_dead_letters import MemoryDeadLetters
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.domain.codec import decode_outcome, encode_envelope
from wallet.domain.commands import Deposit, Envelope, Payout, Transfer, request_hash
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.service_layer.ledger import EVENTS_CHANNEL, LedgerConsumer, apply_batch

from .support import Backend, Inbox, RawLedger, StepClock, envelope, unique, wait_until


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def cache() -> MemoryBalanceCache:
    return MemoryBalanceCache()


def apply(store: SqlLedgerStore, cache: MemoryBalanceCache, *sent: Envelope) -> list[Outcome]:
    return apply_batch(store, cache, sent, now)


# --- idempotency ----------------------------------------------------------------------------

def test_redelivery_in_a_later_batch_applies_once(
    store: SqlLedgerStore, cache: MemoryBalanceCache, raw: RawLedger
) -> None:
    user = unique("user")
    deposit = envelope(Deposit(user, 2_500, "USD"))
    first = apply(store, cache, deposit)
    assert len(first) == 1 and isinstance(first[0], TransactionCommitted)

    assert apply(store, cache, deposit) == []
    assert store.balances(user).balances == {"USD": 2_500}
    assert store.outcome(deposit.command_id) == first[0]
    assert raw.count("transactions", "id = ?", [deposit.command_id]) == 1
    raw.assert_consistent()


def test_duplicates_within_one_batch_apply_once(
    store: SqlLedgerStore, cache: MemoryBalanceCache, raw: RawLedger
) -> None:
    user = unique("user")
    deposit, payout = envelope(Deposit(user, 1_000, "EUR")), envelope(Payout(user, 600, "EUR"))
    outcomes = apply(store, cache, deposit, payout, deposit, payout, deposit)
    assert [o.command_id for o in outcomes] == [deposit.command_id, payout.command_id]
    assert all(isinstance(o, TransactionCommitted) for o in outcomes)
    assert store.balances(user).balances == {"EUR": 400}
    assert raw.count("entries", "account_id = ?", [user]) == 2
    raw.assert_consistent()


def test_a_rejected_command_stays_rejected_when_redelivered(
    store: SqlLedgerStore, cache: MemoryBalanceCache
) -> None:
    """The stored outcome answers a retry, even once the funds would now suffice."""
    user = unique("user")
    payout = envelope(Payout(user, 500, "USD"))
    [refused] = apply(store, cache, payout)
    assert isinstance(refused, CommandRejected)
    assert refused.rejection.code == "insufficient_funds"
    apply(store, cache, envelope(Deposit(user, 900, "USD")))

    assert apply(store, cache, payout) == []
    assert store.outcome(payout.command_id) == refused
    assert store.balances(user).balances == {"USD": 900}


@pytest.mark.parametrize("same_batch", [False, True])
def test_same_id_with_another_request_is_refused_and_not_saved(
    store: SqlLedgerStore, cache: MemoryBalanceCache, raw: RawLedger, same_batch: bool
) -> None:
    user = unique("user")
    original = envelope(Deposit(user, 100, "USD"))
    altered_command = Deposit(user, 100_000, "USD")
    altered = Envelope(original.command_id, request_hash(altered_command), altered_command)

    if same_batch:
        first, reused = apply(store, cache, original, altered)
    else:
        [first] = apply(store, cache, original)
        [reused] = apply(store, cache, altered)

    assert isinstance(reused, CommandRejected)
    assert reused.rejection.code == "idempotency_key_reused"
    assert (reused.command_id, reused.request_hash) == (original.command_id, altered.request_hash)
    assert store.outcome(original.command_id) == first
    assert isinstance(first, TransactionCommitted)
    assert store.balances(user).balances == {"USD": 100}
    assert raw.count("transactions", "id = ?", [original.command_id]) == 1


def test_the_cache_is_invalidated_after_the_commit(
    store: SqlLedgerStore, cache: MemoryBalanceCache
) -> None:
    user, untouched = unique("user"), unique("bystander")
    for account in (user, untouched):
        cache.put(account, cache.get(account).generation, {"USD": 1})
    apply(store, cache, envelope(Deposit(user, 5, "USD")))
    assert cache.get(user).balances is None
    assert cache.get(untouched).balances == {"USD": 1}


# --- two consumers on one database ----------------------------------------------------------

@pytest.fixture
def second_store(backend: Backend, store: SqlLedgerStore) -> Iterator[SqlLedgerStore]:
    """Another store on the same database, like a second consumer process."""
    other = SqlLedgerStore(backend.open())
    yield other
    other.close()


def run_concurrently(
    stores: Sequence[SqlLedgerStore], batches: Sequence[Sequence[Sequence[Envelope]]]
) -> list[list[Outcome]]:
    """Each store applies its own batches on its own thread, the i-th batches all at once.

    Left free-running, one writer tends to hold SQLite's lock for its whole run
    while the other sleeps in the busy handler, and nothing overlaps. A barrier
    per round makes every round a real race for the same rows.
    """
    rounds = {len(work) for work in batches}
    assert len(rounds) == 1, "every consumer needs the same number of batches"
    start = threading.Barrier(len(stores), timeout=30)

    def consume(store: SqlLedgerStore, work: Sequence[Sequence[Envelope]]) -> list[Outcome]:
        cache, outcomes = MemoryBalanceCache(), []
        try:
            for batch in work:
                start.wait()
                outcomes.extend(apply_batch(store, cache, batch, now))
        except BaseException:
            start.abort()  # frees the other consumer at once, instead of at the barrier timeout
            raise
        return outcomes

    with ThreadPoolExecutor(len(stores)) as pool:
        futures = [pool.submit(consume, s, w) for s, w in zip(stores, batches, strict=True)]
        wait(futures, timeout=60)
    causes = [f.exception() for f in futures if f.exception() is not None]
    root_causes = [c for c in causes if not isinstance(c, threading.BrokenBarrierError)]
    if causes:
        raise (root_causes or causes)[0]
    return [future.result() for future in futures]


BATCHES_PER_CONSUMER = 60


def test_two_consumers_lose_no_update(
    store: SqlLedgerStore, second_store: SqlLedgerStore, raw: RawLedger
) -> None:
    users = [unique("shared") for _ in range(3)]
    work = [
        [[envelope(Deposit(users[(b + i) % 3], 1 + i, "USD")) for i in range(5)]
         for b in range(BATCHES_PER_CONSUMER)]
        for _ in range(2)
    ]
    first, second = run_concurrently([store, second_store], work)

    assert len(first) == len(second) == BATCHES_PER_CONSUMER * 5
    expected = {user: 0 for user in users}
    for consumer in work:
        for batch in consumer:
            for sent in batch:
                expected[sent.command.wallet_id] += sent.command.amount_minor
    assert {user: store.balances(user).balances for user in users} == {
        user: {"USD": total} for user, total in expected.items()}
    raw.assert_consistent()


def test_two_consumers_never_overdraw(
    store: SqlLedgerStore, second_store: SqlLedgerStore, raw: RawLedger
) -> None:
    """Both race to drain, and to shuffle between, two funded wallets."""
    alice, bob = unique("alice"), unique("bob")
    apply(store, MemoryBalanceCache(), envelope(Deposit(alice, 100, "USD")),
          envelope(Deposit(bob, 100, "USD")))
    work = [
        [[envelope(Payout(alice, 1, "USD")), envelope(Transfer(bob, alice, 1, "USD")),
          envelope(Payout(bob, 1, "USD")), envelope(Transfer(alice, bob, 2, "USD"))]
         for _ in range(BATCHES_PER_CONSUMER)]
        for _ in range(2)
    ]
    outcomes = [o for consumer in run_concurrently([store, second_store], work) for o in consumer]

    assert len(outcomes) == 2 * BATCHES_PER_CONSUMER * 4
    committed = [o for o in outcomes if isinstance(o, TransactionCommitted)]
    refused = [o for o in outcomes if isinstance(o, CommandRejected)]
    assert {o.rejection.code for o in refused} == {"insufficient_funds"}
    paid_out = sum(o.transaction.amount_minor for o in committed if o.transaction.kind == "payout")
    final = store.balances(alice).balances["USD"] + store.balances(bob).balances["USD"]
    assert final == 200 - paid_out, "money appeared or vanished"
    assert min(store.balances(alice).balances["USD"], store.balances(bob).balances["USD"]) >= 0
    assert all(p.balance_after_minor >= 0 for o in committed for p in o.transaction.user_postings)
    raw.assert_consistent()


# --- the consumer: decode, apply, publish ---------------------------------------------------

@pytest.fixture
def pubsub() -> InProcessPubSub:
    return InProcessPubSub()


@pytest.fixture
def inbox(pubsub: InProcessPubSub) -> Iterator[Inbox]:
    inbox = Inbox()
    subscription = pubsub.subscribe(EVENTS_CHANNEL, inbox)
    yield inbox
    subscription.close()


@pytest.fixture
def consumer(
    store: SqlLedgerStore, cache: MemoryBalanceCache, pubsub: InProcessPubSub, clock: StepClock
) -> LedgerConsumer:
    return LedgerConsumer(store, cache, pubsub, MemoryDeadLetters(), clock)


def test_consumer_publishes_one_message_per_fresh_outcome(
    consumer: LedgerConsumer, store: SqlLedgerStore, inbox: Inbox
) -> None:
    user = unique("user")
    deposit, payout = envelope(Deposit(user, 300, "USD")), envelope(Payout(user, 301, "USD"))
    outcomes = consumer.handle([encode_envelope(e) for e in (deposit, payout, deposit)])
    wait_until(lambda: len(inbox.messages) >= 2, "two events")
    assert [decode_outcome(m) for m in inbox.messages] == outcomes
    assert [store.outcome(o.command_id) for o in outcomes] == outcomes
    assert isinstance(outcomes[1], CommandRejected)

    # A redelivery publishes nothing; a fresh command after it marks where that would show.
    assert consumer.handle([encode_envelope(deposit), encode_envelope(payout)]) == []
    marker = envelope(Deposit(user, 1, "USD"))
    consumer.handle([encode_envelope(marker)])
    wait_until(lambda: len(inbox.messages) >= 3, "the marker's event")
    assert [decode_outcome(m).command_id for m in inbox.messages] == [
        deposit.command_id, payout.command_id, marker.command_id]


POISON = [
    b"", b"not json", b"\xff\xfe", b"[]", b"null", b'"deposit"', b"{}",
    b'{"type":"deposit"}',
    b'{"id":"p","hash":"h","type":"refund","user_id":"u","amount_minor":1,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":"1","currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":1.5,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":true,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":-4,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":0,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":7,"amount_minor":1,"currency":"USD"}',
    b'{"id":"p","hash":"h","type":"deposit","user_id":"u","amount_minor":1,"currency":"USD",'
    b'"extra":1}',
    b'{"id":"p","hash":"h","type":"transfer","from_user_id":"u","to_user_id":"u",'
    b'"amount_minor":1,"currency":"USD"}',
]


def test_poison_records_are_skipped_without_failing_the_batch(
    consumer: LedgerConsumer, store: SqlLedgerStore, raw: RawLedger, inbox: Inbox
) -> None:
    user = unique("user")
    good = [envelope(Deposit(user, 40, "USD")), envelope(Payout(user, 15, "USD"))]
    values = [POISON[0], encode_envelope(good[0]), *POISON[1:], encode_envelope(good[1])]
    outcomes = consumer.handle(values)
    assert [o.command_id for o in outcomes] == [e.command_id for e in good]
    assert store.balances(user).balances == {"USD": 25}
    assert raw.count("transactions") == 2
    wait_until(lambda: len(inbox.messages) == 2, "the two good events")


def test_a_batch_of_only_poison_does_nothing(consumer: LedgerConsumer, raw: RawLedger) -> None:
    assert consumer.handle(POISON) == []
    assert raw.count("transactions") == 0


@pytest.mark.parametrize("amount_minor", [2**63, 2**64 + 1])
def test_an_amount_beyond_the_ledgers_range_does_not_wedge_the_batch(
    consumer: LedgerConsumer, store: SqlLedgerStore, amount_minor: int
) -> None:
    """No backend can store such an amount: it must be poison, not a failing batch.

    A batch that raises is redelivered forever, and every later command on
    that partition would be stuck behind it.
    """
    user = unique("user")
    good = envelope(Deposit(user, 40, "USD"))
    huge = json.loads(encode_envelope(envelope(Deposit(user, 1, "USD"))))
    poison = json.dumps({**huge, "amount_minor": amount_minor}).encode()
    outcomes = consumer.handle([encode_envelope(good), poison])
    assert [o.command_id for o in outcomes if isinstance(o, TransactionCommitted)] == [
        good.command_id]
    assert store.balances(user).balances == {"USD": 40}

