"""domain/commands.py: commands, the wallet that keys them, and their request fingerprint."""

from __future__ import annotations

import subprocess
import sys

import pytest
from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer, request_hash
from wallet.domain.errors import SameWallet, ValidationError

BASE_DEPOSIT = Deposit("alice", 500, "USD")
BASE_TRANSFER = Transfer("alice", "bob", 500, "USD")


@pytest.mark.parametrize("command", [BASE_DEPOSIT, Payout("alice", 1, "JPY"), BASE_TRANSFER])
def test_request_hash_is_equal_for_equal_commands(command: LedgerCommand) -> None:
    twin = type(command)(**vars(command))
    assert twin is not command
    assert request_hash(twin) == request_hash(command)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (BASE_DEPOSIT, Deposit("alicia", 500, "USD")),
        (BASE_DEPOSIT, Deposit("alice", 501, "USD")),
        (BASE_DEPOSIT, Deposit("alice", 500, "EUR")),
        (BASE_DEPOSIT, Payout("alice", 500, "USD")),
        (BASE_TRANSFER, Transfer("alice", "carol", 500, "USD")),
        (BASE_TRANSFER, Transfer("bob", "alice", 500, "USD")),
        (BASE_TRANSFER, Transfer("alice", "bob", 50, "USD")),
        (BASE_TRANSFER, Transfer("alice", "bob", 500, "JPY")),
        (Deposit("a", 11, "USD"), Deposit("a1", 1, "USD")),
    ],
)
def test_request_hash_differs_when_anything_asked_differs(
    one: LedgerCommand, other: LedgerCommand
) -> None:
    assert request_hash(one) != request_hash(other)


@pytest.mark.parametrize(
    ("command", "wallet_id"),
    [(Deposit("alice", 1, "USD"), "alice"), (Payout("bob", 1, "USD"), "bob"),
     (Transfer("carol", "dave", 1, "USD"), "carol")],
)
def test_the_wallet_id_keys_the_log_by_the_wallet_that_moves(
    command: LedgerCommand, wallet_id: str
) -> None:
    assert command.wallet_id == wallet_id


def test_a_transfer_to_oneself_is_a_named_validation_error() -> None:
    with pytest.raises(SameWallet):
        Transfer("alice", "alice", 1, "USD")
    assert issubclass(SameWallet, ValidationError), "the codec dead-letters it as one"


def test_a_transfer_to_oneself_is_refused_under_python_dash_o_too() -> None:
    """`python -O` strips assertions: validation must not be one."""
    script = ("from wallet.domain.commands import Transfer\n"
              "from wallet.domain.errors import ValidationError\n"
              "try:\n    Transfer('alice', 'alice', 1, 'USD')\n"
              "except ValidationError:\n    print('refused')\n")
    ran = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True,
                         timeout=30, check=True)
    assert ran.stdout.strip() == "refused"
