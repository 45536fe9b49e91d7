"""domain/access.py: users act on their own wallet; operators read all, and pay in or out."""

from __future__ import annotations

import pytest
from wallet.domain.access import Principal
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    ExpireHold,
    LedgerCommand,
    Payout,
    PlaceHold,
    Transfer,
    VoidHold,
)
from wallet.domain.errors import Forbidden, NotFound

from ..fakes import ALICE, OPERATOR


@pytest.mark.parametrize(
    ("principal", "command"),
    [
        (ALICE, Deposit("alice", 1, "USD")),
        (ALICE, Payout("alice", 1, "USD")),
        (ALICE, Transfer("alice", "bob", 1, "USD")),
        (OPERATOR, Deposit("alice", 1, "USD")),
        (OPERATOR, Payout("alice", 1, "USD")),
        (OPERATOR, Transfer("ops", "alice", 1, "USD")),
    ],
)
def test_allowed_commands_pass(principal: Principal, command: LedgerCommand) -> None:
    principal.authorise(command)


@pytest.mark.parametrize(
    ("principal", "command", "field"),
    [
        (ALICE, Deposit("bob", 1, "USD"), "userId"),
        (ALICE, Payout("bob", 1, "USD"), "userId"),
        (ALICE, Transfer("bob", "alice", 1, "USD"), "fromUserId"),
        (OPERATOR, Transfer("alice", "bob", 1, "USD"), "fromUserId"),
        (OPERATOR, Transfer("alice", "ops", 1, "USD"), "fromUserId"),
    ],
)
def test_commands_on_another_wallet_are_forbidden(
    principal: Principal, command: LedgerCommand, field: str
) -> None:
    with pytest.raises(Forbidden) as caught:
        principal.authorise(command)
    assert caught.value.field == field


def test_a_user_reads_their_own_wallet() -> None:
    ALICE.authorise_read("alice")


def test_a_user_may_not_read_another_wallet() -> None:
    with pytest.raises(Forbidden):
        ALICE.authorise_read("bob")


@pytest.mark.parametrize("user_id", ["alice", "bob", "ops"])
def test_an_operator_reads_every_wallet(user_id: str) -> None:
    OPERATOR.authorise_read(user_id)


def test_the_role_decides_who_is_an_operator() -> None:
    assert OPERATOR.is_operator
    assert not Principal("ops", "user").is_operator


def test_a_principal_cannot_hold_an_unknown_role() -> None:
    with pytest.raises(AssertionError):
        Principal("alice", "admin")


def test_a_principal_expires_at_its_tokens_exp_and_one_without_never_does() -> None:
    expiring = Principal("alice", "user", expires_at_epoch_s=100)
    assert not expiring.expired(99.9)
    assert expiring.expired(100)
    assert not Principal("alice", "user").expired(10**12)
    assert expiring == Principal("alice", "user")  # the expiry is no part of who it is


HOLD_ID = "5f0c2a4e-1b7d-4c3e-9a8f-0d6e2b1c3a4f"


@pytest.mark.parametrize("principal", [ALICE, OPERATOR])
def test_the_owner_or_an_operator_places_captures_and_voids_a_hold(principal: Principal) -> None:
    for command in (PlaceHold("alice", 5, "USD"), CaptureHold(HOLD_ID, "alice", 5, "USD"),
                    VoidHold(HOLD_ID, "alice", 5, "USD")):
        principal.authorise(command)


def test_another_users_hold_cannot_be_placed_nor_even_found() -> None:
    with pytest.raises(Forbidden) as refused:
        ALICE.authorise(PlaceHold("bob", 5, "USD"))
    assert refused.value.field == "userId"
    for command in (CaptureHold(HOLD_ID, "bob", 5, "USD"), VoidHold(HOLD_ID, "bob", 5, "USD")):
        with pytest.raises(NotFound):
            ALICE.authorise(command)


@pytest.mark.parametrize("principal", [ALICE, OPERATOR])
def test_nobody_asks_for_an_expiry_and_only_operators_audit(principal: Principal) -> None:
    with pytest.raises(Forbidden):
        principal.authorise(ExpireHold(HOLD_ID, "alice", 5, "USD"))
    OPERATOR.authorise_audit()
    with pytest.raises(Forbidden):
        ALICE.authorise_audit()
