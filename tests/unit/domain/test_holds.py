"""Holds, labels and their wire form in the domain: examples the state machine may not reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from wallet.domain.codec import decode_envelope, decode_outcome, encode_envelope, encode_outcome
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    Envelope,
    ExpireHold,
    PlaceHold,
    Transfer,
    VoidHold,
    expiry_command_id,
    request_hash,
)
from wallet.domain.errors import ValidationError
from wallet.domain.events import HoldUpdated
from wallet.domain.journal import GENESIS, JournalEntry, chain_hash, metadata_of, metadata_text
from wallet.domain.labels import valid_metadata, valid_reference
from wallet.domain.ledger import Book, HoldChange, Rejection

from ..fakes import NOW

HOLD = "5f0c2a4e-1b7d-4c3e-9a8f-0d6e2b1c3a4f"


def funded(amount: int = 1_000) -> Book:
    return Book({("alice", "USD"): amount})


def placed(book: Book, amount: int, expires_in_s: int = 60) -> HoldChange:
    change = book.post(PlaceHold("alice", amount, "USD", expires_in_s=expires_in_s), HOLD, NOW)
    assert isinstance(change, HoldChange)
    return change


def test_a_hold_expires_when_its_time_comes_and_not_before() -> None:
    book = funded()
    hold = placed(book, 300, expires_in_s=60).hold
    assert hold.expires_at == NOW + timedelta(seconds=60)
    expire = ExpireHold(HOLD, "alice", 300, "USD")
    just_before = NOW + timedelta(seconds=60) - timedelta(microseconds=1)
    assert book.due_holds(["alice"], just_before) == []
    assert book.post(expire, expiry_command_id(HOLD), just_before) is None
    assert book.held("alice", "USD") == 300
    change = book.post(expire, expiry_command_id(HOLD), hold.expires_at)
    assert isinstance(change, HoldChange)
    assert (change.hold.status, change.held_delta_minor, change.held_after_minor) == \
        ("expired", -300, 0)
    assert book.post(expire, expiry_command_id(HOLD), hold.expires_at) is None  # ended


def test_a_capture_after_expiry_is_refused_even_before_anyone_expired_it() -> None:
    book = funded()
    hold = placed(book, 300).hold
    result = book.post(CaptureHold(HOLD, "alice", 300, "USD"), "c-1", hold.expires_at)
    assert isinstance(result, Rejection) and result.code == "hold_not_active"


@pytest.mark.parametrize("command", [
    CaptureHold(HOLD, "bob", 100, "USD"),  # another wallet
    CaptureHold(HOLD, "alice", 100, "EUR"),  # another currency
    VoidHold(HOLD, "bob", 300, "USD"),
    CaptureHold("6f0c2a4e-1b7d-4c3e-9a8f-0d6e2b1c3a4f", "alice", 100, "USD"),  # no such hold
])
def test_a_command_that_misnames_its_hold_is_refused(command: CaptureHold | VoidHold) -> None:
    book = funded()
    placed(book, 300)
    result = book.post(command, "c-1", NOW)
    assert isinstance(result, Rejection) and result.code == "hold_not_active"
    assert book.held("alice", "USD") == 300


def test_a_capture_carries_the_holds_labels_and_its_id() -> None:
    book = funded()
    book.post(PlaceHold("alice", 300, "USD", reference="order-7", metadata=(("k", "v"),)),
              HOLD, NOW)
    change = book.post(CaptureHold(HOLD, "alice", 120, "USD"), "c-1", NOW)
    assert isinstance(change, HoldChange) and change.transaction is not None
    t = change.transaction
    assert (t.kind, t.hold_id, t.reference, t.metadata) == \
        ("capture", HOLD, "order-7", (("k", "v"),))
    assert [(p.amount_minor, p.balance_after_minor, p.held_minor) for p in t.postings] == \
        [(-120, 880, 0), (120, 120, 0)]
    assert (change.held_delta_minor, change.balance_after_minor) == (-300, 880)


def test_a_posting_reports_the_money_still_held() -> None:
    book = funded()
    placed(book, 300)
    result = book.post(Deposit("alice", 5, "USD"), "d-1", NOW)
    assert not isinstance(result, Rejection | HoldChange) and result is not None
    assert result.postings[1].held_minor == 300


# --- the wire form ----------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    PlaceHold("alice", 300, "USD", reference="r", metadata=(("a", "1"), ("b", "")),
              expires_in_s=5),
    CaptureHold(HOLD, "alice", 300, "USD"),
    VoidHold(HOLD, "alice", 300, "USD"),
    ExpireHold(HOLD, "alice", 300, "USD"),
    Transfer("alice", "bob", 5, "JPY", reference="rent", metadata=(("month", "11"),)),
])
def test_every_command_survives_the_log(command: PlaceHold) -> None:
    sent = Envelope("id-1", request_hash(command), command, "attempt")
    assert decode_envelope(encode_envelope(sent)) == sent


@pytest.mark.parametrize("body", [
    b'{"id":"x","hash":"h","type":"capture","hold_id":"not-a-uuid","user_id":"alice",'
    b'"amount_minor":5,"currency":"USD"}',
    b'{"id":"x","hash":"h","type":"hold","user_id":"alice","amount_minor":5,"currency":"USD",'
    b'"expires_in_s":0}',
    b'{"id":"x","hash":"h","type":"hold","user_id":"alice","amount_minor":5,"currency":"USD",'
    b'"expires_in_s":2592001}',
    b'{"id":"x","hash":"h","type":"deposit","user_id":"alice","amount_minor":5,'
    b'"currency":"USD","metadata":[["bad key","v"]]}',
    b'{"id":"x","hash":"h","type":"deposit","user_id":"alice","amount_minor":5,'
    b'"currency":"USD","metadata":[["k",5]]}',
    b'{"id":"x","hash":"h","type":"deposit","user_id":"alice","amount_minor":5,'
    b'"currency":"USD","reference":""}',
    b'{"id":"x","hash":"h","type":"deposit","user_id":"alice","amount_minor":5,'
    b'"currency":"USD","metadata":"text"}',
])
def test_a_malformed_hold_or_label_in_the_log_is_poison(body: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_envelope(body)


def test_a_hold_outcome_survives_pub_sub() -> None:
    book = funded()
    book.post(PlaceHold("alice", 300, "USD", metadata=(("k", "v"),)), HOLD, NOW)
    change = book.post(CaptureHold(HOLD, "alice", 300, "USD"), "c-1", NOW)
    assert isinstance(change, HoldChange)
    outcome = HoldUpdated("c-1", "hash", change, "attempt")
    assert decode_outcome(encode_outcome(outcome)) == outcome


def test_request_hashes_of_plain_commands_are_what_earlier_releases_recorded() -> None:
    """A retry sent before labels existed must still match its recorded outcome."""
    assert request_hash(Deposit("alice", 100, "USD")) == \
        "344807be5e2ada05066d5fd5f47947babd20b3640db0cbe24f6eebcf0cc2bcfe"
    assert request_hash(Transfer("a", "b", 5, "EUR")) == \
        "f9b35ae1c36606cce075ab6ded349d0ffeb3255adaa0190bcb374f432a577a3c"
    assert request_hash(Deposit("alice", 100, "USD", reference="r")) != \
        request_hash(Deposit("alice", 100, "USD"))
    assert request_hash(PlaceHold("alice", 1, "USD")) != request_hash(Deposit("alice", 1, "USD"))


# --- labels -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "field"), [
    ({"k" * 41: "v"}, "metadata." + "k" * 40),
    ({"bad key": "v"}, "metadata.bad key"),
    ({"k": "v" * 257}, "metadata.k"),
    ({"k": 5}, "metadata.k"),
    ({"k": None}, "metadata.k"),
    ({f"k{i}": "v" for i in range(17)}, "metadata"),
    (["k", "v"], "metadata"),
])
def test_bad_metadata_names_the_field(raw: object, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        valid_metadata(raw)
    assert refused.value.field == field


def test_metadata_at_its_limits_is_kept_sorted() -> None:
    raw = {f"k.{i:02d}_-": "v" * 256 for i in reversed(range(16))}
    kept = valid_metadata(raw)
    assert [key for key, _ in kept] == sorted(raw)
    assert metadata_of(metadata_text(kept)) == kept
    assert metadata_text(()) is None


@pytest.mark.parametrize("raw", ["", "x" * 129, "tab\there", "new\nline", 5, None])
def test_a_bad_reference_is_refused(raw: object) -> None:
    with pytest.raises(ValidationError) as refused:
        valid_reference(raw)
    assert refused.value.field == "reference"


def test_a_reference_may_be_any_printable_text() -> None:
    assert valid_reference("x" * 128) == "x" * 128
    assert valid_reference("Facture n° 42 — €") == "Facture n° 42 — €"


# --- the chain --------------------------------------------------------------------------------

def entry(amount: int, **changes: object) -> JournalEntry:
    fields: dict[str, object] = dict(
        seq=1, transaction_id="t", account_id="alice", currency="USD", amount_minor=amount,
        balance_after_minor=amount, entry_type="deposit", counterparty="system:deposits",
        created_at="2026-12-01T00:00:00.000001Z", reference=None, metadata=None, hold_id=None,
        hash=None)
    return JournalEntry(**{**fields, **changes})  # type: ignore[arg-type]


def test_every_field_an_entry_stores_moves_its_hash() -> None:
    base = chain_hash(GENESIS, entry(5))
    assert base == chain_hash(GENESIS, entry(5, seq=9, hash="x"))  # neither is hashed
    for name, value in [("transaction_id", "u"), ("account_id", "bob"), ("currency", "EUR"),
                        ("amount_minor", 6), ("balance_after_minor", 6), ("entry_type", "payout"),
                        ("counterparty", None), ("created_at", "2026-12-01T00:00:00.000002Z"),
                        ("reference", "r"), ("metadata", '{"k":"v"}'), ("hold_id", HOLD)]:
        assert chain_hash(GENESIS, entry(5, **{name: value})) != base, name
    assert chain_hash(base, entry(5)) != base  # the previous hash is part of it
