"""service_layer/wallet.py for issue 12: holds, held money through the cache, `at`, verify."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    ExpireHold,
    Payout,
    PlaceHold,
    VoidHold,
)
from wallet.domain.errors import Forbidden, NotFound
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome
from wallet.domain.holds import Hold
from wallet.service_layer.ports import HoldQuery, WalletBalances
from wallet.service_layer.wallet import HELD_PREFIX, Submitted, capture_of, void_of

from ..fakes import ALICE, BOB, NOW, OPERATOR, FakeLedgerStore, Stack, stack

pytestmark = pytest.mark.anyio


class AtRecordingStore(FakeLedgerStore):
    """Records the instant each balance read asked for."""

    def __init__(self) -> None:
        super().__init__({("alice", "USD"): 500})
        self.asked_at: list[datetime | None] = []

    def balances(self, account_id: str, at: datetime | None = None) -> WalletBalances:
        self.asked_at.append(at)
        return super().balances(account_id, at)


def updated(submitted: Submitted) -> HoldUpdated:
    assert isinstance(submitted.outcome, HoldUpdated), submitted
    return submitted.outcome


def rejection(submitted: Submitted) -> str:
    assert isinstance(submitted.outcome, CommandRejected), submitted
    return submitted.outcome.rejection.code


async def funded(minor: int = 1000) -> Stack:
    wallet = stack()
    await wallet.service.submit(OPERATOR, Deposit("alice", minor, "USD"), None)
    return wallet


async def placed(wallet: Stack, minor: int = 400, key: str | None = None) -> Hold:
    submitted = await wallet.service.submit(ALICE, PlaceHold("alice", minor, "USD"), key)
    return updated(submitted).change.hold


async def test_a_placed_hold_is_its_commands_id_and_holds_the_money() -> None:
    wallet = await funded()
    submitted = await wallet.service.submit(ALICE, PlaceHold("alice", 400, "USD", "r"), None)
    change = updated(submitted).change
    assert change.hold.id == submitted.command_id
    assert (change.hold.status, change.held_after_minor, change.balance_after_minor) == (
        "held", 400, 1000)
    assert await wallet.service.balances(ALICE, "alice") == WalletBalances(
        {"USD": 1000}, {"USD": 400})


async def test_held_money_is_served_from_the_cache_with_the_balance() -> None:
    wallet = await funded()
    await placed(wallet)
    first = await wallet.service.balances(ALICE, "alice")
    reads = wallet.store.balance_reads
    assert await wallet.service.balances(ALICE, "alice") == first
    assert wallet.store.balance_reads == reads, "the second read is the cache's"
    assert wallet.cache.entries["alice"] == {"USD": 1000, f"{HELD_PREFIX}USD": 400}
    assert first.available("USD") == 600


async def test_a_hold_change_invalidates_the_cached_balances() -> None:
    wallet = await funded()
    await wallet.service.balances(ALICE, "alice")
    hold = await placed(wallet)
    assert (await wallet.service.balances(ALICE, "alice")).held == {"USD": 400}
    await wallet.service.submit(ALICE, void_of(hold), None)
    assert (await wallet.service.balances(ALICE, "alice")).held == {}


async def test_a_read_as_of_an_instant_bypasses_the_cache() -> None:
    store = AtRecordingStore()
    wallet = stack(store=store)
    await wallet.service.balances(ALICE, "alice")
    await wallet.service.balances(ALICE, "alice", NOW)
    await wallet.service.balances(ALICE, "alice", NOW)
    assert store.asked_at == [None, NOW, NOW]


async def test_a_read_as_of_an_instant_is_authorised_like_any() -> None:
    store = AtRecordingStore()
    with pytest.raises(Forbidden):
        await stack(store=store).service.balances(BOB, "alice", NOW)
    assert store.asked_at == []


async def test_payouts_draw_on_the_available_balance() -> None:
    wallet = await funded()
    await placed(wallet, 400)
    assert rejection(await wallet.service.submit(ALICE, Payout("alice", 601, "USD"), None)) == \
        "insufficient_funds"
    await wallet.service.submit(ALICE, Payout("alice", 600, "USD"), None)
    assert wallet.store.balance_rows[("alice", "USD")] == 400


async def test_the_owner_or_an_operator_reads_a_hold_and_nobody_else() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    assert await wallet.service.hold(ALICE, hold.id) == hold
    assert await wallet.service.hold(OPERATOR, hold.id) == hold
    for reader, hold_id in ((BOB, hold.id), (ALICE, str(uuid.uuid4())), (ALICE, "not-a-uuid"),
                            (OPERATOR, hold.id.upper())):
        with pytest.raises(NotFound) as caught:
            await wallet.service.hold(reader, hold_id)
        assert hold.id not in caught.value.message


async def test_a_whole_capture_takes_the_hold_and_releases_it() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    change = updated(await wallet.service.submit(ALICE, capture_of(hold, None), None)).change
    assert (change.hold.status, change.hold.captured_minor, change.held_after_minor) == (
        "captured", 400, 0)
    assert change.transaction is not None and change.transaction.hold_id == hold.id
    assert await wallet.service.balances(ALICE, "alice") == WalletBalances({"USD": 600}, {})


async def test_a_partial_capture_releases_the_rest() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    assert capture_of(hold, 150) == CaptureHold(hold.id, "alice", 150, "USD")
    await wallet.service.submit(OPERATOR, capture_of(hold, 150), None)
    balances = await wallet.service.balances(ALICE, "alice")
    assert (balances.balances["USD"], balances.available("USD")) == (850, 850)


async def test_a_capture_above_the_hold_is_refused_by_the_ledger() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    assert rejection(await wallet.service.submit(ALICE, capture_of(hold, 401), None)) == \
        "amount_exceeds_hold"
    assert (await wallet.service.hold(ALICE, hold.id)).status == "held"


async def test_a_void_releases_the_hold_and_a_second_void_or_a_capture_is_refused() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    assert void_of(hold) == VoidHold(hold.id, "alice", 400, "USD")
    assert updated(await wallet.service.submit(ALICE, void_of(hold), None)).change.hold.status \
        == "voided"
    ended = await wallet.service.hold(ALICE, hold.id)
    assert rejection(await wallet.service.submit(ALICE, void_of(ended), None)) == \
        "hold_not_active"
    assert rejection(await wallet.service.submit(ALICE, capture_of(ended, None), None)) == \
        "hold_not_active"
    assert await wallet.service.balances(ALICE, "alice") == WalletBalances({"USD": 1000}, {})


async def test_a_retried_capture_replays_even_though_the_hold_has_ended() -> None:
    """The retry reads the captured hold, yet builds the same command: its amount is the hold's."""
    wallet = await funded()
    hold = await placed(wallet)
    first = await wallet.service.submit(ALICE, capture_of(hold, None), "cap-1")
    again = await wallet.service.submit(
        ALICE, capture_of(await wallet.service.hold(ALICE, hold.id), None), "cap-1")
    assert again.replayed and again.outcome == first.outcome
    assert wallet.store.balance_rows[("alice", "USD")] == 600


async def test_a_retried_placement_replays_the_same_hold() -> None:
    wallet = await funded()
    first = await placed(wallet, key="hold-1")
    again = await wallet.service.submit(ALICE, PlaceHold("alice", 400, "USD"), "hold-1")
    assert again.replayed and updated(again).change.hold == first
    assert (await wallet.service.balances(ALICE, "alice")).held == {"USD": 400}


async def test_a_user_holds_only_their_own_money() -> None:
    wallet = await funded()
    with pytest.raises(Forbidden) as caught:
        await wallet.service.submit(BOB, PlaceHold("alice", 1, "USD"), None)
    assert caught.value.field == "userId"
    assert len(wallet.log.appended) == 1  # the deposit alone


async def test_another_users_hold_cannot_be_changed_nor_found() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    for command in (capture_of(hold, None), void_of(hold)):
        with pytest.raises(NotFound):
            await wallet.service.submit(BOB, command, None)
    assert (await wallet.service.hold(ALICE, hold.id)).status == "held"


@pytest.mark.parametrize("caller", [ALICE, OPERATOR])
async def test_nobody_expires_a_hold_by_request(caller: object) -> None:
    wallet = await funded()
    hold = await placed(wallet)
    with pytest.raises(Forbidden):
        await wallet.service.submit(
            caller, ExpireHold(hold.id, "alice", 400, "USD"), None)  # type: ignore[arg-type]


async def test_a_hold_commands_outcome_is_looked_up_by_its_owner_and_operators() -> None:
    wallet = await funded()
    hold = await placed(wallet)
    voided = await wallet.service.submit(ALICE, void_of(hold), None)
    for command_id in (hold.id, voided.command_id):
        found: Outcome | None = await wallet.service.lookup(ALICE, command_id)
        assert isinstance(found, HoldUpdated)
        assert await wallet.service.lookup(OPERATOR, command_id) == found
        with pytest.raises(NotFound):
            await wallet.service.lookup(BOB, command_id)


async def test_holds_come_a_page_at_a_time_newest_first() -> None:
    wallet = await funded()
    holds = [await placed(wallet, minor) for minor in (100, 200, 300)]
    page, more = await wallet.service.holds(ALICE, HoldQuery("alice", 2))
    assert [row.hold for row in page] == holds[:0:-1] and more
    rest, more = await wallet.service.holds(ALICE, HoldQuery("alice", 2,
                                                             after_seq=page[-1].seq))
    assert [row.hold for row in rest] == holds[:1] and not more


async def test_holds_filter_by_status() -> None:
    wallet = await funded()
    kept, ended = await placed(wallet, 100), await placed(wallet, 200)
    await wallet.service.submit(ALICE, void_of(ended), None)
    page, _ = await wallet.service.holds(ALICE, HoldQuery("alice", 10, status="held"))
    assert [row.hold.id for row in page] == [kept.id]


async def test_only_operators_list_every_users_holds_or_another_users() -> None:
    wallet = await funded()
    await placed(wallet)
    for query in (HoldQuery(None, 10), HoldQuery("alice", 10)):
        with pytest.raises(Forbidden):
            await wallet.service.holds(BOB, query)
    page, _ = await wallet.service.holds(OPERATOR, HoldQuery(None, 10))
    assert [row.hold.user_id for row in page] == ["alice"]


def test_a_capture_with_no_amount_carries_the_holds_whole_amount() -> None:
    hold = Hold("h", "alice", "EUR", 900, "held", 0, NOW + timedelta(days=1), NOW, NOW)
    assert capture_of(hold, None) == CaptureHold("h", "alice", 900, "EUR")
