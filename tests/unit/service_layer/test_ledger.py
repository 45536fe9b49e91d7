"""service_layer/ledger.py: apply_batch and the consumer, over an in-memory store."""

from __future__ import annotations

import itertools

import pytest
from wallet.domain.codec import decode_outcome, encode_envelope
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Payout, Transfer, request_hash
from wallet.domain.errors import Unavailable
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, PAYOUTS_ACCOUNT
from wallet.service_layer.ledger import EVENTS_CHANNEL, LedgerConsumer, apply_batch

from ..fakes import (
    NOW,
    DownPubSub,
    FailingBatchStore,
    FakeLedgerStore,
    PoisonedStore,
    RecordingCache,
    RecordingDeadLetters,
    SyncPubSub,
)

_ids = itertools.count(1)


def envelope(command: LedgerCommand, command_id: str | None = None) -> Envelope:
    return Envelope(command_id or f"c-{next(_ids)}", request_hash(command), command)


def apply(store: FakeLedgerStore, *envelopes: Envelope,
          cache: RecordingCache | None = None) -> list[Outcome]:
    return apply_batch(store, cache or RecordingCache(), envelopes, lambda: NOW)


def test_a_batch_applies_its_commands_in_order() -> None:
    store = FakeLedgerStore()
    outcomes = apply(store, envelope(Deposit("alice", 500, "USD")),
                     envelope(Transfer("alice", "bob", 200, "USD")),
                     envelope(Payout("bob", 50, "USD")))
    assert [type(o) for o in outcomes] == [TransactionCommitted] * 3
    assert store.balance_rows == {
        ("alice", "USD"): 300, ("bob", "USD"): 150,
        (DEPOSITS_ACCOUNT, "USD"): -500, (PAYOUTS_ACCOUNT, "USD"): 50,
    }
    assert len(store.committed) == 1


def test_an_outcome_carries_the_command_id_hash_and_clock() -> None:
    deposit = envelope(Deposit("alice", 500, "USD"), "c-42")
    (outcome,) = apply(FakeLedgerStore(), deposit)
    assert isinstance(outcome, TransactionCommitted)
    assert (outcome.command_id, outcome.request_hash) == ("c-42", deposit.request_hash)
    assert (outcome.transaction.id, outcome.transaction.created_at) == ("c-42", NOW)


def test_a_duplicate_within_one_batch_is_applied_once() -> None:
    store = FakeLedgerStore()
    deposit = envelope(Deposit("alice", 500, "USD"))
    outcomes = apply(store, deposit, deposit)
    assert len(outcomes) == 1
    assert store.balance_rows[("alice", "USD")] == 500
    assert [e.command_id for e, _ in store.committed[0]] == [deposit.command_id]


def test_a_redelivered_command_is_neither_applied_nor_published_again() -> None:
    store = FakeLedgerStore()
    deposit = envelope(Deposit("alice", 500, "USD"))
    apply(store, deposit)
    assert apply(store, deposit) == []
    assert store.balance_rows[("alice", "USD")] == 500
    assert store.committed[1] == []


def test_a_reused_id_with_another_request_is_refused_and_not_saved() -> None:
    store = FakeLedgerStore()
    first = envelope(Deposit("alice", 500, "USD"), "c-1")
    (original,) = apply(store, first)
    (outcome,) = apply(store, envelope(Deposit("alice", 999, "USD"), "c-1"))
    assert isinstance(outcome, CommandRejected)
    assert outcome.rejection.code == "idempotency_key_reused"
    assert outcome.request_hash == request_hash(Deposit("alice", 999, "USD"))
    assert outcome.wallet_id == "alice"
    assert store.outcomes["c-1"] == original
    assert store.committed[1] == []
    assert store.balance_rows[("alice", "USD")] == 500


def test_a_reused_id_within_one_batch_applies_only_the_first_request() -> None:
    store = FakeLedgerStore()
    outcomes = apply(store, envelope(Deposit("alice", 500, "USD"), "c-1"),
                     envelope(Deposit("alice", 999, "USD"), "c-1"))
    assert isinstance(outcomes[0], TransactionCommitted)
    assert isinstance(outcomes[1], CommandRejected)
    assert outcomes[1].rejection.code == "idempotency_key_reused"
    assert store.balance_rows[("alice", "USD")] == 500
    assert len(store.committed[0]) == 1


def test_an_insufficient_funds_rejection_is_saved() -> None:
    store = FakeLedgerStore()
    (outcome,) = apply(store, envelope(Transfer("alice", "bob", 1, "USD"), "c-1"))
    assert isinstance(outcome, CommandRejected)
    assert (outcome.rejection.code, outcome.wallet_id, outcome.rejected_at) == (
        "insufficient_funds", "alice", NOW)
    assert store.outcomes["c-1"] == outcome
    assert store.balance_rows == {}


def test_a_redelivered_rejection_is_not_published_again() -> None:
    store = FakeLedgerStore()
    payout = envelope(Payout("alice", 1, "USD"))
    apply(store, payout)
    apply(store, envelope(Deposit("alice", 500, "USD")))
    assert apply(store, payout) == []
    assert store.balance_rows[("alice", "USD")] == 500


def test_the_cache_is_invalidated_for_changed_accounts_only() -> None:
    store, cache = FakeLedgerStore({("carol", "USD"): 5}), RecordingCache()
    cache.put("alice", 0, {"USD": 0})
    cache.put("carol", 0, {"USD": 5})
    apply(store, envelope(Deposit("alice", 500, "USD")), cache=cache)
    assert cache.invalidated == [{"alice", DEPOSITS_ACCOUNT}]
    assert cache.get("alice").balances is None
    assert cache.get("carol").balances == {"USD": 5}


def test_a_redelivery_invalidates_its_wallets_again() -> None:
    """The first delivery's consumer may have died after its commit, before invalidating."""
    store, cache = FakeLedgerStore(), RecordingCache()
    deposit = envelope(Deposit("alice", 500, "USD"))
    apply(store, deposit, cache=cache)
    cache.put("alice", cache.get("alice").generation, {"USD": 0})  # what a stale filler left
    apply(store, deposit, cache=cache)
    assert "alice" in cache.invalidated[-1]
    assert cache.get("alice").balances is None


def test_a_batch_of_rejections_invalidates_nothing() -> None:
    cache = RecordingCache()
    apply(FakeLedgerStore(), envelope(Payout("alice", 1, "USD")), cache=cache)
    assert cache.invalidated == [set()]


def test_a_failed_commit_propagates_and_changes_nothing() -> None:
    store, cache = FailingBatchStore(), RecordingCache()
    with pytest.raises(Unavailable):
        apply(store, envelope(Deposit("alice", 500, "USD")), cache=cache)
    assert store.outcomes == {}
    assert store.balance_rows == {}
    assert cache.invalidated == []


def consumer(
    store: FakeLedgerStore | None = None, pubsub: SyncPubSub | None = None,
    dead_letters: RecordingDeadLetters | None = None, monotonic: list[float] | None = None,
) -> tuple[LedgerConsumer, SyncPubSub]:
    pubsub = SyncPubSub() if pubsub is None else pubsub
    letters = RecordingDeadLetters() if dead_letters is None else dead_letters
    now_s = [0.0] if monotonic is None else monotonic
    ledger = LedgerConsumer(store or FakeLedgerStore(), RecordingCache(), pubsub, letters,
                            lambda: NOW, monotonic=lambda: now_s[0])
    return ledger, pubsub


# --- a command that raises while applied ------------------------------------------------------

def test_a_command_that_raises_is_isolated_and_the_rest_of_its_batch_commits_in_order() -> None:
    store, letters = PoisonedStore("mallory"), RecordingDeadLetters()
    ledger, pubsub = consumer(store, dead_letters=letters)
    sent = [envelope(Deposit("alice", 500, "USD")), envelope(Deposit("bob", 7, "USD")),
            envelope(Deposit("mallory", 1, "USD")), envelope(Payout("alice", 200, "USD")),
            envelope(Transfer("bob", "alice", 5, "USD"))]
    outcomes = ledger.handle([encode_envelope(e) for e in sent])

    assert [o.command_id for o in outcomes] == [e.command_id for e in sent]
    rejected = outcomes[2]
    assert isinstance(rejected, CommandRejected)
    assert rejected.rejection.code == "unprocessable_command"
    assert all(isinstance(o, TransactionCommitted) for i, o in enumerate(outcomes) if i != 2)
    assert store.balance_rows[("alice", "USD")] == 305 and ("mallory", "USD") not in \
        store.balance_rows
    assert letters.letters == [(encode_envelope(sent[2]), "failed while applied: "
                                "UnicodeEncodeError")]
    assert [decode_outcome(m) for m in pubsub.messages(EVENTS_CHANNEL)] == outcomes
    assert ledger.stalled_s() == 0


def test_isolating_one_command_costs_a_logarithmic_number_of_attempts() -> None:
    store = PoisonedStore("mallory")
    ledger, _ = consumer(store)
    sent = [envelope(Deposit(f"user{n}", 1, "USD")) for n in range(63)]
    sent.insert(40, envelope(Deposit("mallory", 1, "USD")))
    ledger.handle([encode_envelope(e) for e in sent])
    assert len(store.outcomes) == 64
    assert store.attempts <= 2 * 6 + 3  # halvings down to one, a retry alone, the rejection


def test_a_redelivered_poison_command_answers_its_rejection_and_is_not_set_aside_again() -> None:
    store, letters = PoisonedStore("mallory"), RecordingDeadLetters()
    ledger, _ = consumer(store, dead_letters=letters)
    poison = encode_envelope(envelope(Deposit("mallory", 1, "USD")))
    [rejected] = ledger.handle([poison])
    assert ledger.handle([poison]) == []
    assert len(letters.letters) == 1 and isinstance(rejected, CommandRejected)


def test_a_database_outage_fails_the_batch_and_the_stall_ages_until_a_batch_applies() -> None:
    store, clock_s = FailingBatchStore(), [100.0]
    ledger, _ = consumer(store, monotonic=clock_s)
    deposit = encode_envelope(envelope(Deposit("alice", 5, "USD")))
    assert ledger.stalled_s() == 0
    with pytest.raises(Unavailable):
        ledger.handle([deposit])
    clock_s[0] = 130.0
    with pytest.raises(Unavailable):  # the retry keeps the first time
        ledger.handle([deposit])
    assert ledger.stalled_s() == 30.0
    assert store.outcomes == {}
    store.down = False
    assert len(ledger.handle([deposit])) == 1
    assert ledger.stalled_s() == 0


def test_the_consumer_publishes_each_outcome_on_the_events_channel() -> None:
    ledger, pubsub = consumer()
    deposit, payout = envelope(Deposit("alice", 5, "USD")), envelope(Payout("bob", 1, "USD"))
    outcomes = ledger.handle([encode_envelope(deposit), encode_envelope(payout)])
    assert [decode_outcome(m) for m in pubsub.messages(EVENTS_CHANNEL)] == outcomes
    assert [o.command_id for o in outcomes] == [deposit.command_id, payout.command_id]


def test_the_consumer_skips_poison_records_and_applies_the_rest() -> None:
    store = FakeLedgerStore()
    ledger, _ = consumer(store)
    outcomes = ledger.handle([b"garbage", encode_envelope(envelope(Deposit("alice", 5, "USD")))])
    assert len(outcomes) == 1
    assert store.balance_rows[("alice", "USD")] == 5


def test_each_poison_record_is_dead_lettered_with_its_reason() -> None:
    letters = RecordingDeadLetters()
    ledger, _ = consumer(dead_letters=letters)
    ledger.handle([b"garbage", encode_envelope(envelope(Deposit("alice", 5, "USD"))), b"{}"])
    assert [value for value, _ in letters.letters] == [b"garbage", b"{}"]
    assert all(reason for _, reason in letters.letters)


def test_a_dead_letter_that_cannot_be_stored_fails_the_batch_before_anything_applies() -> None:
    store = FakeLedgerStore()
    ledger, _ = consumer(store, dead_letters=RecordingDeadLetters(failing=True))
    with pytest.raises(Unavailable):
        ledger.handle([b"garbage", encode_envelope(envelope(Deposit("alice", 5, "USD")))])
    assert store.committed == []


def test_a_pubsub_outage_does_not_fail_a_committed_batch() -> None:
    store = FakeLedgerStore()
    ledger, _ = consumer(store, pubsub=DownPubSub())
    outcomes = ledger.handle([encode_envelope(envelope(Deposit("alice", 5, "USD")))])
    assert len(outcomes) == 1
    assert store.balance_rows[("alice", "USD")] == 5


def test_a_batch_of_only_poison_publishes_nothing() -> None:
    store = FakeLedgerStore()
    ledger, pubsub = consumer(store)
    assert ledger.handle([b"garbage", b"{}"]) == []
    assert pubsub.published == []
    assert store.committed == []


def test_the_consumer_publishes_nothing_for_a_redelivery() -> None:
    ledger, pubsub = consumer()
    value = encode_envelope(envelope(Deposit("alice", 5, "USD")))
    ledger.handle([value])
    ledger.handle([value])
    assert len(pubsub.messages()) == 1
