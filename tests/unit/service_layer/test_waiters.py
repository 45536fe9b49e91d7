"""service_layer/waiters.py: handlers waiting for their own outcome, and only theirs."""

from __future__ import annotations

import pytest
from wallet.domain.errors import Unavailable
from wallet.domain.events import CommandRejected
from wallet.domain.ledger import Rejection
from wallet.service_layer.waiters import OutcomeWaiters

from ..fakes import NOW

pytestmark = pytest.mark.anyio


def outcome(command_id: str, request_hash: str) -> CommandRejected:
    return CommandRejected(command_id, request_hash, Rejection("insufficient_funds", "no"),
                           NOW, "alice")


async def test_resolve_hands_a_waiter_the_outcome_of_its_id_and_hash() -> None:
    waiters = OutcomeWaiters(10)
    waiter = waiters.register("c-1", "h-1", "alice")
    waiters.resolve([outcome("c-1", "h-1")])
    assert (await waiter.wait(0)) == outcome("c-1", "h-1")


@pytest.mark.parametrize(("command_id", "request_hash"), [("c-1", "h-2"), ("c-2", "h-1")])
async def test_resolve_ignores_outcomes_of_another_id_or_hash(
        command_id: str, request_hash: str) -> None:
    waiters = OutcomeWaiters(10)
    waiter = waiters.register("c-1", "h-1", "alice")
    waiters.resolve([outcome(command_id, request_hash)])
    assert (await waiter.wait(0)) is None


async def test_two_requests_sharing_an_id_each_get_their_own_answer() -> None:
    waiters = OutcomeWaiters(10)
    first, second = waiters.register("c-1", "h-1", "alice"), waiters.register("c-1", "h-2", "alice")
    waiters.resolve([outcome("c-1", "h-2"), outcome("c-1", "h-1")])
    assert (await first.wait(0)) == outcome("c-1", "h-1")
    assert (await second.wait(0)) == outcome("c-1", "h-2")


async def test_duplicates_of_one_request_are_all_resolved() -> None:
    waiters = OutcomeWaiters(10)
    copies = [waiters.register("c-1", "h-1", "alice") for _ in range(3)]
    waiters.resolve([outcome("c-1", "h-1")])
    assert [await copy.wait(0) for copy in copies] == [outcome("c-1", "h-1")] * 3


async def test_wait_without_an_outcome_times_out_empty() -> None:
    assert await OutcomeWaiters(1).register("c-1", "h-1", "alice").wait(1) is None


async def test_waiters_max_bounds_the_waiters_in_flight() -> None:
    waiters = OutcomeWaiters(2)
    first = waiters.register("c-1", "h", "alice")
    waiters.register("c-2", "h", "alice")
    with pytest.raises(Unavailable):
        waiters.register("c-3", "h", "alice")
    waiters.release(first)
    waiters.register("c-3", "h", "alice")


async def test_release_forgets_the_id_once_its_last_waiter_leaves() -> None:
    waiters = OutcomeWaiters(10)
    first, second = waiters.register("c-1", "h-1", "alice"), waiters.register("c-1", "h-2", "alice")
    assert waiters.pending_owner("c-1") == "alice"
    waiters.release(first)
    assert waiters.pending_owner("c-1") == "alice"
    waiters.release(second)
    assert waiters.pending_owner("c-1") is None


async def test_releasing_twice_frees_only_one_slot() -> None:
    waiters = OutcomeWaiters(2)
    first = waiters.register("c-1", "h", "alice")
    waiters.register("c-2", "h", "alice")
    waiters.release(first)
    waiters.release(first)
    waiters.register("c-3", "h", "alice")
    with pytest.raises(Unavailable):
        waiters.register("c-4", "h", "alice")


async def test_a_released_waiter_is_not_resolved() -> None:
    waiters = OutcomeWaiters(10)
    waiter = waiters.register("c-1", "h-1", "alice")
    waiters.release(waiter)
    waiters.resolve([outcome("c-1", "h-1")])
    assert (await waiter.wait(0)) is None


async def test_pending_is_false_for_unknown_ids() -> None:
    assert OutcomeWaiters(10).pending_owner("c-1") is None
