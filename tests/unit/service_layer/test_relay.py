"""service_layer/relay.py: who gets which balanceUpdated message."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import TooManyConnections, Unauthorized
from wallet.domain.events import CommandRejected, HoldUpdated, TransactionCommitted
from wallet.domain.holds import Hold
from wallet.domain.ledger import (
    DEPOSITS_ACCOUNT,
    PAYOUTS_ACCOUNT,
    HoldChange,
    Posting,
    Rejection,
    Transaction,
)
from wallet.service_layer.relay import TOKEN_EXPIRED, Relay

from ..fakes import ALICE, BOB, NOW, OPERATOR, SECRET, RecordingCloser, RecordingSender

TOKENS = JwtTokens(SECRET)

DEPOSIT = TransactionCommitted("c-1", "h", Transaction(
    "c-1", "deposit", "USD", 500, NOW,
    (Posting(DEPOSITS_ACCOUNT, -500, -500), Posting("alice", 500, 500))))
TRANSFER = TransactionCommitted("c-2", "h", Transaction(
    "c-2", "transfer", "USD", 125, NOW,
    (Posting("alice", -125, 375), Posting("bob", 125, 125))))
REJECTED = CommandRejected("c-3", "h", Rejection("insufficient_funds", "no"), NOW, "alice")


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def relay(sender: RecordingSender) -> Relay:
    relay = Relay(MemoryConnections(sender), TOKENS)
    for connection_id, principal in (("alice-1", ALICE), ("bob-1", BOB), ("ops-1", OPERATOR)):
        relay.connect(connection_id, TOKENS.issue(principal, 60))
    return relay


def received(sender: RecordingSender, connection_id: str) -> list[dict[str, Any]]:
    return [json.loads(text) for text in sender.to(connection_id)]


def test_connect_refuses_a_bad_token() -> None:
    connections = MemoryConnections()
    with pytest.raises(Unauthorized):
        Relay(connections, TOKENS).connect("c-1", "not-a-token")
    assert connections.count() == 0


def test_connect_returns_the_tokens_principal() -> None:
    assert Relay(MemoryConnections(), TOKENS).connect("c-1", TOKENS.issue(BOB, 60)) == BOB


def test_a_user_gets_only_their_own_wallets_events(relay: Relay, sender: RecordingSender) -> None:
    relay.fan_out([DEPOSIT])
    assert [m["userId"] for m in received(sender, "alice-1")] == ["alice"]
    assert received(sender, "bob-1") == []


def test_a_deposit_message_carries_the_new_balance_and_history_item(
    relay: Relay, sender: RecordingSender
) -> None:
    relay.fan_out([DEPOSIT])
    assert received(sender, "alice-1") == [{
        "event": "balanceUpdated", "userId": "alice", "currency": "USD", "balance": "5.00",
        "available": "5.00", "held": "0.00",
        "transaction": {"id": "c-1", "userId": "alice", "type": "deposit", "amount": "5.00",
                            "currency": "USD",
                        "balanceAfter": "5.00", "status": "committed",
                        "createdAt": "2026-11-25T10:00:00.123456Z"},
    }]


def test_an_operator_gets_every_wallets_events(relay: Relay, sender: RecordingSender) -> None:
    relay.fan_out([DEPOSIT, TRANSFER])
    assert [m["userId"] for m in received(sender, "ops-1")] == ["alice", "alice", "bob"]


def test_a_transfer_pushes_one_message_per_wallet(relay: Relay, sender: RecordingSender) -> None:
    assert relay.fan_out([TRANSFER]) == 4  # alice, bob, and the operator twice
    (to_alice,) = received(sender, "alice-1")
    (to_bob,) = received(sender, "bob-1")
    assert (to_alice["balance"], to_alice["transaction"]["type"],
            to_alice["transaction"]["counterparty"]) == ("3.75", "transfer_out", "bob")
    assert (to_bob["balance"], to_bob["transaction"]["type"],
            to_bob["transaction"]["counterparty"]) == ("1.25", "transfer_in", "alice")


def test_rejected_outcomes_push_nothing(relay: Relay, sender: RecordingSender) -> None:
    assert relay.fan_out([REJECTED]) == 0
    assert sender.sent == []


def test_a_closed_connection_is_forgotten(relay: Relay, sender: RecordingSender) -> None:
    sender.closed.add("ops-1")
    assert relay.fan_out([TRANSFER]) == 2
    sender.closed.clear()
    relay.fan_out([TRANSFER])
    assert received(sender, "ops-1") == []
    assert len(received(sender, "alice-1")) == 2


def test_disconnect_stops_the_pushes(relay: Relay, sender: RecordingSender) -> None:
    relay.disconnect("alice-1")
    relay.fan_out([DEPOSIT])
    assert received(sender, "alice-1") == []


class Clock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def expiring_relay(sender: RecordingSender, closer: RecordingCloser, clock: Clock) -> Relay:
    """alice's token ends at 1000 s, the operator's at 2000 s."""
    connections = MemoryConnections(sender, closer)
    for connection_id, principal in (("alice-1", Principal("alice", "user", 1000)),
                                     ("ops-1", Principal("ops", "operator", 2000))):
        connections.add(connection_id, principal, SocketLimits())
    return Relay(connections, TOKENS, clock=clock)


def test_no_event_reaches_a_connection_after_its_token_expired(sender: RecordingSender) -> None:
    closer, clock = RecordingCloser(), Clock(999)
    relay = expiring_relay(sender, closer, clock)
    relay.fan_out([DEPOSIT])
    clock.now_s = 1000
    relay.fan_out([DEPOSIT])
    assert len(received(sender, "alice-1")) == 1
    assert len(received(sender, "ops-1")) == 2
    assert closer.hung_up == [("alice-1", *TOKEN_EXPIRED)]
    relay.fan_out([DEPOSIT])
    assert closer.hung_up == [("alice-1", *TOKEN_EXPIRED)]  # forgotten: hung up once


def test_expire_hangs_up_on_every_expired_connection_and_only_those(
    sender: RecordingSender
) -> None:
    closer, clock = RecordingCloser(), Clock(1500)
    relay = expiring_relay(sender, closer, clock)
    assert relay.expire() == 1
    assert closer.hung_up == [("alice-1", *TOKEN_EXPIRED)]
    assert relay.expire() == 0
    relay.fan_out([DEPOSIT])
    assert received(sender, "alice-1") == []
    assert len(received(sender, "ops-1")) == 1


def test_the_expiry_close_says_why_with_an_application_code() -> None:
    code, reason = TOKEN_EXPIRED
    assert 4000 <= code <= 4999 and reason == "token expired"


def test_connect_over_the_users_cap_is_refused() -> None:
    relay = Relay(MemoryConnections(), TOKENS, SocketLimits(per_user_max=1, per_process_max=5))
    relay.connect("a-1", TOKENS.issue(ALICE, 60))
    with pytest.raises(TooManyConnections):
        relay.connect("a-2", TOKENS.issue(ALICE, 60))
    assert relay.connect("b-1", TOKENS.issue(BOB, 60)) == BOB


# --- issue 12: hold changes ------------------------------------------------------------------

HOLD = Hold("h-1", "alice", "USD", 200, "held", 0, NOW + timedelta(days=7), NOW, NOW, "r-1")
PLACED = HoldUpdated("h-1", "h", HoldChange(HOLD, 200, 200, 500))
CAPTURE = Transaction("c-4", "capture", "USD", 150, NOW,
                      (Posting("alice", -150, 350, 0), Posting(PAYOUTS_ACCOUNT, 150, 150)),
                      "r-1", (), "h-1")
CAPTURED = HoldUpdated("c-4", "h", HoldChange(
    replace(HOLD, status="captured", captured_minor=150), -200, 0, 350, CAPTURE))


def test_a_placed_hold_reaches_its_owner_and_operators_only(
    relay: Relay, sender: RecordingSender
) -> None:
    assert relay.fan_out([PLACED]) == 2
    (to_alice,) = received(sender, "alice-1")
    assert to_alice == received(sender, "ops-1")[0]
    assert (to_alice["event"], to_alice["hold"]["id"], to_alice["hold"]["reference"]) == (
        "holdUpdated", "h-1", "r-1")
    assert (to_alice["balance"], to_alice["available"], to_alice["held"]) == (
        "5.00", "3.00", "2.00")
    assert received(sender, "bob-1") == []


def test_a_capture_pushes_the_hold_and_the_balance_it_moved(
    relay: Relay, sender: RecordingSender
) -> None:
    assert relay.fan_out([CAPTURED]) == 4
    hold, balance = received(sender, "alice-1")
    assert (hold["event"], hold["hold"]["status"], hold["available"]) == (
        "holdUpdated", "captured", "3.50")
    assert (balance["event"], balance["balance"], balance["transaction"]["holdId"],
            balance["transaction"]["type"]) == ("balanceUpdated", "3.50", "h-1", "capture")
    assert received(sender, "bob-1") == []
