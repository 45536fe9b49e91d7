"""domain/codec.py: the bytes on the log and on pub/sub, and what is refused on the way in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from wallet.domain.codec import (
    decode_envelope,
    decode_outcome,
    encode_envelope,
    encode_outcome,
)
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Payout, Transfer, request_hash
from wallet.domain.errors import ValidationError
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, Posting, Rejection, Transaction

from ..fakes import NOW

VALID_DEPOSIT: dict[str, Any] = {"id": "c-1", "hash": "h-1", "type": "deposit",
                                 "user_id": "alice", "amount_minor": 500, "currency": "USD"}
VALID_TRANSFER: dict[str, Any] = {"id": "c-2", "hash": "h-2", "type": "transfer",
                                  "from_user_id": "alice", "to_user_id": "bob",
                                  "amount_minor": 1, "currency": "JPY"}
MISSING = object()


def envelope_bytes(base: dict[str, Any], **changes: object) -> bytes:
    body = {**base, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not MISSING}).encode()


@pytest.mark.parametrize(
    "command",
    [Deposit("alice", 500, "USD"), Payout("bob", 1, "JPY"), Transfer("alice", "bob", 12345, "KWD")],
)
def test_envelopes_round_trip(command: LedgerCommand) -> None:
    envelope = Envelope("c-1", request_hash(command), command)
    assert decode_envelope(encode_envelope(envelope)) == envelope


def test_envelopes_carry_amounts_as_integers() -> None:
    body = json.loads(encode_envelope(Envelope("c-1", "h", Deposit("alice", 500, "USD"))))
    assert body["amount_minor"] == 500
    assert body["type"] == "deposit"


DEPOSITED = TransactionCommitted("c-1", "h-1", Transaction(
    "c-1", "deposit", "USD", 500, NOW,
    (Posting(DEPOSITS_ACCOUNT, -500, -500), Posting("alice", 500, 500))))
TRANSFERRED = TransactionCommitted("c-2", "h-2", Transaction(
    "c-2", "transfer", "EUR", 250, NOW.astimezone(timezone(timedelta(hours=2))),
    (Posting("alice", -250, 750), Posting("bob", 250, 250))))
REJECTED = CommandRejected("c-3", "h-3", Rejection("insufficient_funds", "too little USD"),
                           datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "alice")


@pytest.mark.parametrize("outcome", [DEPOSITED, TRANSFERRED, REJECTED])
def test_outcomes_round_trip(outcome: Outcome) -> None:
    assert decode_outcome(encode_outcome(outcome)) == outcome


def test_outcomes_decode_from_bytes_too() -> None:
    assert decode_outcome(encode_outcome(REJECTED).encode()) == REJECTED


@pytest.mark.parametrize(
    "data",
    [
        b"", b"not json", b"\xff\xfe\x00", b"[]", b"null", b"42", b'"deposit"', b"{}",
        envelope_bytes(VALID_DEPOSIT, type="withdrawal"),
        envelope_bytes(VALID_DEPOSIT, type=MISSING),
        envelope_bytes(VALID_DEPOSIT, type=None),
        envelope_bytes(VALID_DEPOSIT, id=MISSING),
        envelope_bytes(VALID_DEPOSIT, hash=MISSING),
        envelope_bytes(VALID_DEPOSIT, user_id=MISSING),
        envelope_bytes(VALID_DEPOSIT, amount_minor=MISSING),
        envelope_bytes(VALID_DEPOSIT, currency=MISSING),
        envelope_bytes(VALID_TRANSFER, to_user_id=MISSING),
        envelope_bytes(VALID_DEPOSIT, extra="field"),
        envelope_bytes(VALID_DEPOSIT, amount_minor="500"),
        envelope_bytes(VALID_DEPOSIT, amount_minor=5.0),
        envelope_bytes(VALID_DEPOSIT, amount_minor=1.5),
        envelope_bytes(VALID_DEPOSIT, amount_minor=True),
        envelope_bytes(VALID_DEPOSIT, amount_minor=None),
        envelope_bytes(VALID_DEPOSIT, user_id=7),
        envelope_bytes(VALID_DEPOSIT, currency=["USD"]),
        envelope_bytes(VALID_DEPOSIT, amount_minor=0),
        envelope_bytes(VALID_DEPOSIT, amount_minor=-5),
        envelope_bytes(VALID_TRANSFER, to_user_id="alice"),
    ],
)
def test_decode_envelope_refuses_anything_malformed(data: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_envelope(data)


def test_decode_envelope_accepts_the_valid_bodies_the_refusals_start_from() -> None:
    """Guards the table above: each refusal comes from its one change, not a bad base."""
    assert decode_envelope(envelope_bytes(VALID_DEPOSIT)).command == Deposit("alice", 500, "USD")
    assert decode_envelope(envelope_bytes(VALID_TRANSFER)).command == Transfer(
        "alice", "bob", 1, "JPY")


def test_an_envelope_carries_its_attempt_and_one_logged_before_attempts_still_decodes() -> None:
    sent = Envelope("c-1", "h-1", Deposit("alice", 500, "USD"), "attempt-1")
    assert decode_envelope(encode_envelope(sent)) == sent
    assert decode_envelope(envelope_bytes(VALID_DEPOSIT)).attempt_id == ""


def test_an_outcome_names_its_attempt_and_an_older_event_still_decodes() -> None:
    transaction = Transaction("c-1", "deposit", "USD", 5, NOW,
                              (Posting(DEPOSITS_ACCOUNT, -5, -5), Posting("alice", 5, 5)))
    outcome = TransactionCommitted("c-1", "h-1", transaction, "attempt-1")
    assert decode_outcome(encode_outcome(outcome)) == outcome
    older = json.loads(encode_outcome(outcome))
    del older["attempt"]
    assert decode_outcome(json.dumps(older)).attempt_id == ""
