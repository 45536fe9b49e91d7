"""service_layer/wallet.py: submit with idempotency, and the reads, over in-memory fakes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from wallet.domain.access import Principal
from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer, request_hash
from wallet.domain.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    OutcomeUnknown,
    Unavailable,
)
from wallet.domain.events import CommandRejected, TransactionCommitted
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.domain.money import ExactDecimal
from wallet.service_layer.ports import AmountRange, HistoryQuery, WalletBalances
from wallet.service_layer.waiters import OutcomeWaiters
from wallet.service_layer.wallet import HistoryFilters, Submitted, WalletService

from ..fakes import (
    ALICE,
    BOB,
    OPERATOR,
    FakeLedgerStore,
    FullLog,
    RecordingCache,
    SharedPending,
    Stack,
    UnreachableReadsStore,
    stack,
)

pytestmark = pytest.mark.anyio


def exact(text: str) -> ExactDecimal:
    """A bound as the edge hands it on: parsed once, typed, with no HTTP field attached."""
    value = ExactDecimal.parse(text)
    assert value is not None, text
    return value


def committed(submitted: Submitted) -> TransactionCommitted:
    assert isinstance(submitted.outcome, TransactionCommitted), submitted
    return submitted.outcome


async def test_submit_returns_the_committed_outcome() -> None:
    wallet = stack()
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    transaction = committed(submitted).transaction
    assert transaction.id == submitted.command_id
    assert transaction.posting_for("alice").balance_after_minor == 500
    assert not submitted.replayed
    assert wallet.store.balance_rows[("alice", "USD")] == 500


async def test_submit_keys_the_log_by_the_wallet_that_moves() -> None:
    wallet = stack()
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    await wallet.service.submit(ALICE, Transfer("alice", "bob", 100, "USD"), None)
    assert [key for key, _ in wallet.log.appended] == ["alice", "alice"]


async def test_submit_returns_a_ledger_rejection_as_an_outcome() -> None:
    submitted = await stack().service.submit(ALICE, Payout("alice", 1, "USD"), None)
    assert isinstance(submitted.outcome, CommandRejected)
    assert submitted.outcome.rejection.code == "insufficient_funds"


async def test_the_same_key_and_request_replays_the_first_outcome_once() -> None:
    wallet = stack()
    first = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    again = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert again.replayed and not first.replayed
    assert again.command_id == first.command_id
    assert again.outcome == first.outcome
    assert wallet.store.balance_rows[("alice", "USD")] == 500
    assert len(wallet.log.appended) == 1


async def test_a_replayed_rejection_is_replayed_too() -> None:
    wallet = stack()
    first = await wallet.service.submit(ALICE, Payout("alice", 5, "USD"), "key-1")
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-2")
    again = await wallet.service.submit(ALICE, Payout("alice", 5, "USD"), "key-1")
    assert again.replayed
    assert isinstance(again.outcome, CommandRejected)
    assert again.outcome == first.outcome
    assert wallet.store.balance_rows[("alice", "USD")] == 500


async def test_the_same_key_with_another_request_is_refused() -> None:
    wallet = stack()
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    with pytest.raises(IdempotencyKeyReused):
        await wallet.service.submit(ALICE, Deposit("alice", 501, "USD"), "key-1")
    assert wallet.store.balance_rows[("alice", "USD")] == 500


async def test_a_reused_key_still_in_flight_is_refused_by_the_ledger() -> None:
    """Both copies reach the log before either is recorded: the consumer tells them apart."""
    wallet = stack(hold=True, wait_for_commit_ms=0)
    first = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    wallet.log.hold = False
    with pytest.raises(IdempotencyKeyReused):
        await wallet.service.submit(ALICE, Deposit("alice", 999, "USD"), "key-1")
    assert wallet.store.balance_rows[("alice", "USD")] == 500
    recorded = wallet.store.outcomes[first.command_id]
    assert recorded.request_hash == request_hash(Deposit("alice", 500, "USD"))


async def test_idempotency_keys_are_scoped_to_the_caller() -> None:
    wallet = stack()
    by_alice = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "shared-key")
    by_operator = await wallet.service.submit(OPERATOR, Deposit("alice", 500, "USD"), "shared-key")
    assert by_alice.command_id != by_operator.command_id
    assert not by_operator.replayed
    assert wallet.store.balance_rows[("alice", "USD")] == 1000


async def test_requests_without_a_key_are_distinct_commands() -> None:
    wallet = stack()
    first = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    second = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    assert first.command_id != second.command_id
    assert wallet.store.balance_rows[("alice", "USD")] == 1000


@pytest.mark.parametrize(
    "command",
    [Deposit("bob", 1, "USD"), Payout("bob", 1, "USD"), Transfer("bob", "alice", 1, "USD")],
)
async def test_acting_on_another_wallet_is_forbidden_before_anything_is_appended(
    command: LedgerCommand,
) -> None:
    wallet = stack()
    with pytest.raises(Forbidden):
        await wallet.service.submit(ALICE, command, "key-1")
    assert wallet.log.appended == []
    assert wallet.store.outcomes == {}


async def test_a_full_log_is_unavailable_and_frees_the_waiter() -> None:
    full = FullLog()
    wallet = stack(log=full, waiters_max=1)
    with pytest.raises(Unavailable):
        await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert full.attempts == 1
    with pytest.raises(Unavailable):  # not "too many in flight": the first waiter was released
        await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert full.attempts == 2


async def test_waiters_max_bounds_requests_in_flight() -> None:
    wallet = stack(waiters_max=1)
    wallet.waiters.register("someone-else", "h", "alice")
    with pytest.raises(Unavailable):
        await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    assert wallet.log.appended == []


async def test_a_command_not_applied_in_time_is_pending() -> None:
    wallet = stack(hold=True, wait_for_commit_ms=0)
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert submitted.outcome is None
    assert not submitted.replayed
    assert len(wallet.log.appended) == 1


async def test_a_missed_event_is_read_back_from_the_store() -> None:
    wallet = stack(wait_for_commit_ms=0)
    wallet.pubsub.subscriptions.clear()  # the outcome is applied, but no event arrives
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert committed(submitted).transaction.id == submitted.command_id


async def test_lookup_reports_pending_while_a_waiter_holds_the_id() -> None:
    wallet = stack(hold=True, wait_for_commit_ms=0)
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    waiter = wallet.waiters.register(submitted.command_id, "any-hash", "alice")
    assert await wallet.service.lookup(ALICE, submitted.command_id) is None
    wallet.log.deliver()
    outcome = await wallet.service.lookup(ALICE, submitted.command_id)
    assert isinstance(outcome, TransactionCommitted)
    wallet.waiters.release(waiter)


async def test_lookup_after_a_pending_submit_still_reports_pending() -> None:
    """A 202 tells the client to poll /wallet/transactions/{id}: that poll must say pending.

    The handler's waiter is released when the 202 goes out, so until the
    consumer applies the command the id is unknown and lookup answers 404.
    """
    wallet = stack(hold=True, wait_for_commit_ms=0)
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert await wallet.service.lookup(ALICE, submitted.command_id) is None


def second_gateway(first: Stack, pending: SharedPending | None) -> WalletService:
    """Another gateway process: the same store and log, waiters of its own."""
    return WalletService(first.store, first.log, RecordingCache(), OutcomeWaiters(10), 0, pending)


async def test_another_gateway_answers_pending_for_a_202_it_did_not_give() -> None:
    pending = SharedPending()
    first = stack(hold=True, wait_for_commit_ms=0, pending=pending)
    submitted = await first.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    second = second_gateway(first, pending)
    assert await second.lookup(ALICE, submitted.command_id) is None
    with pytest.raises(NotFound):
        await second.lookup(Principal("carol", "user"), submitted.command_id)
    first.log.deliver()
    assert isinstance(await second.lookup(ALICE, submitted.command_id), TransactionCommitted)


async def test_without_a_shared_registry_only_the_first_gateway_knows_a_pending_id() -> None:
    first = stack(hold=True, wait_for_commit_ms=0)
    submitted = await first.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    with pytest.raises(NotFound):
        await second_gateway(first, None).lookup(ALICE, submitted.command_id)


async def test_lookup_of_an_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFound):
        await stack().service.lookup(OPERATOR, "no-such-id")


async def test_a_location_whose_command_was_lost_says_to_retry_with_the_same_key() -> None:
    """A restart of the embedded log loses what was not yet applied: the 202's Location
    then answers outcome_unknown, never the bare not_found of an id nobody gave."""
    first = stack(hold=True, wait_for_commit_ms=0)
    submitted = await first.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    restarted = second_gateway(first, None)  # the waiters' memory is gone with the process
    with pytest.raises(OutcomeUnknown) as unknown:
        await restarted.lookup(ALICE, submitted.command_id, submitted.request_hash)
    assert "same Idempotency-Key" in unknown.value.message
    assert not isinstance(unknown.value, NotFound)
    with pytest.raises(OutcomeUnknown):  # a stranger's Location learns nothing more
        await restarted.lookup(Principal("carol", "user"), submitted.command_id,
                               submitted.request_hash)


async def test_lookup_shows_a_transaction_to_its_parties_and_operators_only() -> None:
    wallet = stack()
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    transfer = await wallet.service.submit(ALICE, Transfer("alice", "bob", 100, "USD"), None)
    for viewer in (ALICE, BOB, OPERATOR):
        assert await wallet.service.lookup(viewer, transfer.command_id) == transfer.outcome
    carol = Principal("carol", "user")
    with pytest.raises(NotFound):
        await wallet.service.lookup(carol, transfer.command_id)


async def test_lookup_hides_another_users_deposit_as_not_found() -> None:
    wallet = stack()
    deposit = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    with pytest.raises(NotFound):
        await wallet.service.lookup(BOB, deposit.command_id)


async def test_lookup_shows_a_rejection_only_to_its_requester() -> None:
    wallet = stack()
    rejected = await wallet.service.submit(ALICE, Transfer("alice", "bob", 100, "USD"), None)
    assert isinstance(await wallet.service.lookup(ALICE, rejected.command_id), CommandRejected)
    with pytest.raises(NotFound):
        await wallet.service.lookup(BOB, rejected.command_id)


async def test_balances_are_read_once_then_served_from_the_cache() -> None:
    wallet = stack(store=FakeLedgerStore({("alice", "USD"): 500, ("alice", "EUR"): 7}))
    assert (await wallet.service.balances(ALICE, "alice")).balances == {"USD": 500, "EUR": 7}
    assert (await wallet.service.balances(ALICE, "alice")).balances == {"USD": 500, "EUR": 7}
    assert wallet.store.balance_reads == 1


async def test_an_invalidated_balance_is_read_again() -> None:
    wallet = stack(store=FakeLedgerStore({("alice", "USD"): 500}))
    await wallet.service.balances(ALICE, "alice")
    wallet.store.balance_rows[("alice", "USD")] = 600
    wallet.cache.invalidate(["alice"])
    assert (await wallet.service.balances(ALICE, "alice")).balances == {"USD": 600}
    assert wallet.store.balance_reads == 2


async def test_a_balance_read_after_a_commit_is_never_stale() -> None:
    wallet = stack()
    assert await wallet.service.balances(ALICE, "alice") == WalletBalances({}, {})
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    assert await wallet.service.balances(ALICE, "alice") == WalletBalances({"USD": 500}, {})


async def test_balances_of_another_users_wallet_are_forbidden() -> None:
    wallet = stack()
    with pytest.raises(Forbidden):
        await wallet.service.balances(ALICE, "bob")
    assert wallet.store.balance_reads == 0


async def test_an_operator_reads_any_balance() -> None:
    wallet = stack(store=FakeLedgerStore({("alice", "USD"): 5}))
    assert (await wallet.service.balances(OPERATOR, "alice")).balances == {"USD": 5}


async def history_wallet() -> Stack:
    wallet = stack()
    for amount in (100, 200, 300):
        await wallet.service.submit(OPERATOR, Deposit("alice", amount, "USD"), None)
    await wallet.service.submit(OPERATOR, Deposit("alice", 7, "JPY"), None)
    return wallet


async def test_history_returns_one_page_and_says_whether_more_follow() -> None:
    wallet = await history_wallet()
    entries, more = await wallet.service.history(ALICE, HistoryFilters(HistoryQuery("alice", 3)))
    assert [e.amount_minor for e in entries] == [7, 300, 200]
    assert more
    entries, more = await wallet.service.history(ALICE, HistoryFilters(HistoryQuery("alice", 4)))
    assert len(entries) == 4
    assert not more


async def test_history_asks_the_store_for_one_entry_more_than_the_page() -> None:
    wallet = await history_wallet()
    await wallet.service.history(ALICE, HistoryFilters(HistoryQuery("alice", 3)))
    assert wallet.store.history_queries[-1].limit == 4


async def test_history_of_another_users_wallet_is_forbidden() -> None:
    wallet = await history_wallet()
    with pytest.raises(Forbidden):
        await wallet.service.history(BOB, HistoryFilters(HistoryQuery("alice", 3)))
    assert wallet.store.history_queries == []


async def test_history_amount_ranges_are_derived_for_each_currency_the_wallet_holds() -> None:
    wallet = await history_wallet()
    filters = HistoryFilters(HistoryQuery("alice", 10), amount_min=exact("1.5"),
                             amount_max=exact("10.555"))
    await wallet.service.history(ALICE, filters)
    assert wallet.store.history_queries[-1].amount_ranges == (
        AmountRange("JPY", 2, 10), AmountRange("USD", 150, 1055))


async def test_history_amount_range_follows_the_currency_filter() -> None:
    wallet = await history_wallet()
    filters = HistoryFilters(HistoryQuery("alice", 10, currency="KWD"), amount_max=exact("2"))
    await wallet.service.history(ALICE, filters)
    assert wallet.store.history_queries[-1].amount_ranges == (AmountRange("KWD", None, 2000),)


async def test_history_without_amount_bounds_has_no_ranges() -> None:
    wallet = await history_wallet()
    await wallet.service.history(ALICE, HistoryFilters(HistoryQuery("alice", 10)))
    assert wallet.store.history_queries[-1].amount_ranges == ()


async def test_history_amount_bounds_on_an_empty_wallet_find_nothing() -> None:
    wallet = stack()
    filters = HistoryFilters(HistoryQuery("alice", 10), amount_min=exact("1"))
    assert await wallet.service.history(ALICE, filters) == ([], False)
    assert wallet.store.history_queries == []


async def test_history_amount_bounds_stay_within_what_the_store_can_compare() -> None:
    """`minAmount=99999999999999999999` is valid input; as minor units it overflows BIGINT.

    SQLite raises OverflowError binding it (PostgreSQL: bigint out of range), so
    the request ends as a 500 instead of an empty page.
    """
    wallet = await history_wallet()
    huge = exact("9" * 20)
    filters = HistoryFilters(HistoryQuery("alice", 10, currency="USD"), huge, huge)
    await wallet.service.history(ALICE, filters)
    (bounds,) = wallet.store.history_queries[-1].amount_ranges
    for bound in (bounds.minor_min, bounds.minor_max):
        assert bound is None or bound <= BALANCE_MINOR_MAX


async def test_submit_finds_the_outcome_in_the_store_when_its_event_is_lost() -> None:
    wallet = stack(wait_for_commit_ms=2000)
    wallet.pubsub.subscriptions.clear()  # a pub/sub outage: the consumer commits, nobody hears
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "lost-event")
    assert committed(submitted).transaction.posting_for("alice").balance_after_minor == 500
    assert not submitted.replayed


async def test_submit_gives_up_waiting_when_nothing_commits() -> None:
    wallet = stack(wait_for_commit_ms=600, hold=True)
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "held")
    assert submitted.outcome is None


async def test_a_store_outage_after_the_append_answers_pending_not_unavailable() -> None:
    """The command is in the log and will apply: a 503 would invite a duplicate submit."""
    store = UnreachableReadsStore()
    wallet = stack(hold=True, wait_for_commit_ms=600, store=store)
    store.down = True
    submitted = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    assert submitted.outcome is None
    assert len(wallet.log.appended) == 1


async def test_a_store_outage_before_the_append_is_unavailable_and_appends_nothing() -> None:
    store = UnreachableReadsStore()
    wallet = stack(store=store)
    store.down = True
    with pytest.raises(Unavailable):
        await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert wallet.log.appended == []


async def test_only_operators_read_every_wallets_history() -> None:
    wallet = stack()
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), None)
    await wallet.service.submit(OPERATOR, Deposit("bob", 700, "USD"), None)
    every = HistoryFilters(HistoryQuery(None, limit=10))
    with pytest.raises(Forbidden):
        await wallet.service.history(ALICE, every)
    entries, more = await wallet.service.history(OPERATOR, every)
    assert sorted(e.account_id for e in entries) == ["alice", "bob"]
    assert not more


# --- issue 8: replays are marked, and a Location reports only its own request ---------------


async def test_a_copy_resolved_by_another_copys_event_is_a_replay() -> None:
    """Two copies in flight at once: only the copy whose attempt applied is the first answer."""
    wallet = stack(hold=True, wait_for_commit_ms=0)
    first = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    wallet.log.hold = False  # the second append delivers both copies in one batch
    again = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert first.outcome is None
    assert committed(again).transaction.id == first.command_id
    assert again.replayed
    assert wallet.store.balance_rows[("alice", "USD")] == 500


async def test_a_copy_that_finds_another_copys_outcome_in_the_store_is_a_replay() -> None:
    wallet = stack(hold=True, wait_for_commit_ms=0)
    await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    wallet.pubsub.subscriptions.clear()  # no event: the waiter falls back on the store
    wallet.log.hold = False
    again = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert committed(again).transaction.id == again.command_id
    assert again.replayed


async def test_the_copy_whose_attempt_applied_is_not_a_replay_even_from_the_store() -> None:
    wallet = stack(wait_for_commit_ms=0)
    wallet.pubsub.subscriptions.clear()
    first = await wallet.service.submit(ALICE, Deposit("alice", 500, "USD"), "key-1")
    assert committed(first) and not first.replayed


async def test_a_location_reports_only_the_outcome_of_its_own_request() -> None:
    """Two bodies under one key, both answered 202: the loser's Location must not say committed."""
    wallet = stack(hold=True, wait_for_commit_ms=0)
    ten = await wallet.service.submit(ALICE, Deposit("alice", 1000, "USD"), "key-1")
    one = await wallet.service.submit(ALICE, Deposit("alice", 100, "USD"), "key-1")
    assert ten.outcome is None and one.outcome is None
    assert ten.request_hash != one.request_hash
    assert await wallet.service.lookup(ALICE, ten.command_id, ten.request_hash) is None  # pending
    wallet.log.deliver()
    outcome = await wallet.service.lookup(ALICE, ten.command_id, ten.request_hash)
    assert isinstance(outcome, TransactionCommitted)
    assert outcome.transaction.amount_minor == 1000
    with pytest.raises(IdempotencyKeyReused):
        await wallet.service.lookup(ALICE, one.command_id, one.request_hash)
    # no fingerprint: as before
    assert await wallet.service.lookup(OPERATOR, ten.command_id) == outcome


WRITES_IN_FLIGHT = 1_000  # far past any thread pool the runtime ever had (64)


async def test_a_thousand_writes_wait_at_once_on_one_thread() -> None:
    """A waiting write is a future: every one is in flight together, none holds a thread."""
    wallet = stack(hold=True, wait_for_commit_ms=60_000, waiters_max=WRITES_IN_FLIGHT)
    threads_before = threading.active_count()
    writes = [asyncio.create_task(wallet.service.submit(
        OPERATOR, Deposit(f"user-{n}", 1, "USD"), None)) for n in range(WRITES_IN_FLIGHT)]
    while len(wallet.log.appended) < WRITES_IN_FLIGHT:
        await asyncio.sleep(0)  # the loop's turn, not a pause: each write reaches its wait
    assert not any(write.done() for write in writes)
    assert threading.active_count() == threads_before
    wallet.log.deliver()
    submitted = await asyncio.gather(*writes)
    assert all(isinstance(each.outcome, TransactionCommitted) for each in submitted)


async def test_an_outcome_published_on_another_thread_wakes_the_write() -> None:
    """Pub/sub delivers on its own thread; the write wakes on its loop."""
    wallet = stack(hold=True, wait_for_commit_ms=60_000)
    write = asyncio.create_task(wallet.service.submit(ALICE, Deposit("alice", 5, "USD"), None))
    while not wallet.log.appended:
        await asyncio.sleep(0)
    await asyncio.get_running_loop().run_in_executor(None, wallet.log.deliver)
    assert isinstance((await write).outcome, TransactionCommitted)
