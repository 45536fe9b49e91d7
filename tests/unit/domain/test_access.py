"""domain/access.py: users act on their own wallet; operators read all, and pay in or out."""

from __future__ import annotations

import pytest
from wallet.domain.access import Principal
from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer
from wallet.domain.errors import Forbidden

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
