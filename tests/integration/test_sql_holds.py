"""Holds, labels, point-in-time balances and the hash chain, through apply_batch, on each backend.

Every command goes the consumer's way (apply_batch: one transaction per
batch), so these are the store's and the ledger's rules together.
"""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.sql_dialect import Dialect
from wallet.adapters.sql_history import history_statement
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.domain.codec import decode_outcome, encode_outcome
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    Envelope,
    ExpireHold,
    LedgerCommand,
    Payout,
    PlaceHold,
    Transfer,
    VoidHold,
    expiry_command_id,
    request_hash,
)
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.journal import GENESIS, chain_hash
from wallet.service_layer.ledger import apply_batch
from wallet.service_layer.ports import HistoryQuery, HoldQuery

from .support import RawLedger, StepClock, unique


@pytest.fixture
def cache() -> MemoryBalanceCache:
    return MemoryBalanceCache()


def sent(command: LedgerCommand, command_id: str | None = None) -> Envelope:
    return Envelope(command_id or str(uuid.uuid4()), request_hash(command), command)


def apply(store: SqlLedgerStore, clock: StepClock, *commands: LedgerCommand) -> list[Outcome]:
    return apply_batch(store, MemoryBalanceCache(), [sent(c) for c in commands], clock)


def place(store: SqlLedgerStore, clock: StepClock, user: str, amount: int,
          **options: object) -> HoldUpdated:
    (outcome,) = apply(store, clock, PlaceHold(user, amount, "USD", **options))  # type: ignore[arg-type]
    assert isinstance(outcome, HoldUpdated), outcome
    return outcome


def rejection(outcomes: list[Outcome]) -> str:
    (outcome,) = outcomes
    assert isinstance(outcome, CommandRejected), outcome
    return outcome.rejection.code


# --- the hold lifecycle -----------------------------------------------------------------------

def test_a_hold_keeps_the_balance_and_takes_from_available(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD"))
    placed = place(store, clock, user, 700, reference="order-1", metadata=(("shop", "7"),))
    assert placed.change.hold.status == "held"
    assert (placed.change.held_after_minor, placed.change.balance_after_minor) == (700, 1_000)
    now = store.balances(user)
    assert (now.balances, now.held, now.available("USD")) == ({"USD": 1_000}, {"USD": 700}, 300)
    stored = store.hold(placed.change.hold.id)
    assert stored == placed.change.hold
    assert stored is not None and stored.reference == "order-1"


def test_payouts_transfers_and_new_holds_draw_on_available(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user, other = unique("user"), unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD"))
    place(store, clock, user, 600)
    assert rejection(apply(store, clock, Payout(user, 401, "USD"))) == "insufficient_funds"
    assert rejection(apply(store, clock, Transfer(user, other, 401, "USD"))) == \
        "insufficient_funds"
    assert rejection(apply(store, clock, PlaceHold(user, 401, "USD"))) == "insufficient_funds"
    (paid,) = apply(store, clock, Payout(user, 400, "USD"))
    assert isinstance(paid, TransactionCommitted)
    assert store.balances(user).available("USD") == 0


def test_a_partial_capture_pays_out_that_much_and_releases_the_rest(
    store: SqlLedgerStore, clock: StepClock, raw: RawLedger
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD"))
    hold = place(store, clock, user, 600, reference="r-9").change.hold
    (captured,) = apply(store, clock, CaptureHold(hold.id, user, 250, "USD"))
    assert isinstance(captured, HoldUpdated)
    transaction = captured.change.transaction
    assert transaction is not None and transaction.kind == "capture"
    assert (transaction.hold_id, transaction.reference) == (hold.id, "r-9")
    assert captured.change.hold.status == "captured"
    assert captured.change.hold.captured_minor == 250
    after = store.balances(user)
    assert (after.balances, after.held) == ({"USD": 750}, {})
    assert store.balances("system:payouts").balances["USD"] >= 250
    types = raw.rows("SELECT entry_type FROM entries WHERE transaction_id = ?", (transaction.id,))
    assert sorted(t for (t,) in types) == ["capture", "capture"]


@pytest.mark.parametrize("ending", [VoidHold, CaptureHold])
def test_an_ended_hold_answers_hold_not_active(
    store: SqlLedgerStore, clock: StepClock, ending: type[VoidHold | CaptureHold]
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 500, "USD"))
    hold = place(store, clock, user, 500).change.hold
    (ended,) = apply(store, clock, ending(hold.id, user, 500, "USD"))
    assert isinstance(ended, HoldUpdated)
    assert rejection(apply(store, clock, VoidHold(hold.id, user, 500, "USD"))) == \
        "hold_not_active"
    assert rejection(apply(store, clock, CaptureHold(hold.id, user, 500, "USD"))) == \
        "hold_not_active"
    assert store.balances(user).held == {}


def test_a_capture_may_not_exceed_its_hold(store: SqlLedgerStore, clock: StepClock) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 900, "USD"))
    hold = place(store, clock, user, 300).change.hold
    assert rejection(apply(store, clock, CaptureHold(hold.id, user, 301, "USD"))) == \
        "amount_exceeds_hold"
    assert store.hold(hold.id) == hold


def test_captures_and_voids_of_one_hold_in_one_batch_apply_exactly_one(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 900, "USD"))
    hold = place(store, clock, user, 300).change.hold
    outcomes = apply(store, clock, VoidHold(hold.id, user, 300, "USD"),
                     CaptureHold(hold.id, user, 300, "USD"), CaptureHold(hold.id, user, 100, "USD"))
    assert [type(o).__name__ for o in outcomes] == \
        ["HoldUpdated", "CommandRejected", "CommandRejected"]
    assert store.balances(user).balances == {"USD": 900}


# --- expiry -----------------------------------------------------------------------------------

def test_a_due_hold_expires_before_the_next_command_on_its_wallet(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 500, "USD"))
    hold = place(store, clock, user, 500, expires_in_s=60).change.hold
    assert rejection(apply(store, clock, Payout(user, 500, "USD"))) == "insufficient_funds"
    later = StepClock(start=hold.expires_at)
    outcomes = apply(store, later, Payout(user, 500, "USD"))
    assert [type(o).__name__ for o in outcomes] == ["HoldUpdated", "TransactionCommitted"]
    expired = outcomes[0]
    assert isinstance(expired, HoldUpdated) and expired.command_id == expiry_command_id(hold.id)
    assert expired.change.hold.status == "expired"
    assert rejection(apply(store, later, CaptureHold(hold.id, user, 500, "USD"))) == \
        "hold_not_active"


def test_an_expiry_applies_once_however_often_it_is_asked(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 500, "USD"))
    hold = place(store, clock, user, 200, expires_in_s=1).change.hold
    expire = ExpireHold(hold.id, user, 200, "USD")
    assert apply_batch(store, MemoryBalanceCache(),
                       [sent(expire, expiry_command_id(hold.id))], clock) == []  # not yet due
    assert store.due_holds(hold.expires_at, 10) == [hold]
    later = StepClock(start=hold.expires_at)
    copies = [sent(expire, expiry_command_id(hold.id)) for _ in range(3)]
    outcomes = apply_batch(store, MemoryBalanceCache(), copies, later)
    assert [o.change.hold.status for o in outcomes if isinstance(o, HoldUpdated)] == ["expired"]
    assert len(outcomes) == 1
    assert apply_batch(store, MemoryBalanceCache(), copies, later) == []
    assert store.balances(user).held == {}
    assert store.due_holds(hold.expires_at + timedelta(days=1), 10) == []


def test_a_due_hold_in_another_currency_expires_with_its_right_balance(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    """The batch's commands touch USD only; the EUR hold's balance row is loaded too."""
    user = unique("user")
    apply(store, clock, Deposit(user, 500, "USD"), Deposit(user, 800, "EUR"))
    (placed,) = apply(store, clock, PlaceHold(user, 300, "EUR", expires_in_s=5))
    assert isinstance(placed, HoldUpdated)
    later = StepClock(start=placed.change.hold.expires_at)
    apply(store, later, Deposit(user, 1, "USD"))
    after = store.balances(user)
    assert (after.balances, after.held) == ({"USD": 501, "EUR": 800}, {})


# --- replays ------------------------------------------------------------------------------------

def test_a_hold_command_replays_its_first_answer_from_the_store(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD"))
    placed = place(store, clock, user, 400, metadata=(("a", "1"), ("b", "2")))
    capture = sent(CaptureHold(placed.change.hold.id, user, 150, "USD"))
    (captured,) = apply_batch(store, MemoryBalanceCache(), [capture], clock)
    assert isinstance(captured, HoldUpdated)
    assert apply_batch(store, MemoryBalanceCache(), [capture], clock) == []  # redelivered
    first = store.outcome(placed.command_id)
    assert isinstance(first, HoldUpdated)
    assert first.change == placed.change  # as placed, though the hold has been captured since
    again = store.outcome(capture.command_id)
    assert isinstance(again, HoldUpdated) and again.change.transaction is not None
    assert again.change.hold == captured.change.hold
    assert again.change.transaction.hold_id == placed.change.hold.id
    assert decode_outcome(encode_outcome(captured)) == captured


# --- labels -----------------------------------------------------------------------------------

def labelled(store: SqlLedgerStore, account: str | None, *labels: tuple[str, str],
             after: int | None = None, limit: int = 50) -> list[str]:
    page = store.history(HistoryQuery(account, limit, after_seq=after, labels=tuple(labels)))
    return [entry.transaction_id for entry in page]


def test_history_finds_entries_by_reference_and_metadata(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user, other = unique("user"), unique("user")
    tag = unique("tag")
    outcomes = apply(store, clock,
                     Deposit(user, 10, "USD", reference=tag, metadata=(("k", "x"),)),
                     Deposit(user, 20, "USD", metadata=(("k", "x"), ("j", "y"))),
                     Deposit(user, 30, "USD", reference=tag),
                     Deposit(other, 40, "USD", reference=tag),
                     Transfer(other, user, 5, "USD", metadata=(("k", "x"),)))
    ids = [o.command_id for o in outcomes]
    assert labelled(store, user, ("reference", tag)) == [ids[2], ids[0]]
    assert labelled(store, user, ("metadata.k", "x")) == [ids[4], ids[1], ids[0]]
    assert labelled(store, user, ("metadata.j", "y"), ("metadata.k", "x")) == [ids[1]]
    assert labelled(store, user, ("metadata.k", "X")) == []  # exact, so case counts
    assert labelled(store, other, ("metadata.k", "x")) == [ids[4]]
    assert labelled(store, None, ("reference", tag)) == [ids[3], ids[2], ids[0]]
    entries = store.history(HistoryQuery(user, 1, labels=(("reference", tag),)))
    assert entries[0].reference == tag
    assert labelled(store, user, ("reference", tag), after=entries[0].seq) == [ids[0]]
    full = store.history(HistoryQuery(user, 10, labels=(("metadata.j", "y"),)))
    assert full[0].metadata == (("j", "y"), ("k", "x"))


def plan(dialect: Dialect, statement: str, params: list[Any]) -> str:
    """The planner's choice; PostgreSQL is kept off sequential scans, which win on tiny tables."""
    with dialect.write() as cursor:
        if dialect.name == "postgres":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
        return " | ".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize("account", ["alice", None])
def test_a_label_search_seeks_an_index(
    store: SqlLedgerStore, dialect: Dialect, account: str | None
) -> None:
    query = HistoryQuery(account, 50, after_seq=10, labels=(("reference", "r"),))
    chosen = plan(dialect, *history_statement(dialect, query))
    # PostgreSQL, on tables this empty, may prefer either labels index: both are index order.
    index = "entry_labels_by_owner" if account and dialect.name == "sqlite" else \
        "entry_labels_by_value" if dialect.name == "sqlite" else "entry_labels_by_"
    assert index in chosen and "TEMP B-TREE" not in chosen and "Sort" not in chosen, chosen


# --- point in time ------------------------------------------------------------------------------

def test_balances_at_transaction_boundaries(store: SqlLedgerStore, clock: StepClock) -> None:
    user = unique("user")
    (first,) = apply(store, clock, Deposit(user, 1_000, "USD"))
    placed = place(store, clock, user, 300)
    (second,) = apply(store, clock, Deposit(user, 50, "EUR"))
    assert isinstance(first, TransactionCommitted) and isinstance(second, TransactionCommitted)
    tick = timedelta(microseconds=1)
    at_first = first.transaction.created_at
    assert store.balances(user, at_first - tick).balances == {}
    assert store.balances(user, at_first).balances == {"USD": 1_000}
    held_at = placed.change.hold.created_at
    assert store.balances(user, held_at - tick).held == {}
    assert store.balances(user, held_at).held == {"USD": 300}
    then = store.balances(user, second.transaction.created_at - tick)
    assert (then.balances, then.available("USD")) == ({"USD": 1_000}, 700)
    assert store.balances(user, second.transaction.created_at).balances == \
        {"USD": 1_000, "EUR": 50}


def test_a_balance_at_seeks_an_index(store: SqlLedgerStore, dialect: Dialect) -> None:
    statement = dialect.sql(  # the statement SqlLedgerStore._balances_at runs
        "SELECT balance_after FROM entries WHERE account_id = ? AND currency = ? "
        "AND created_at <= ? AND account_id NOT LIKE 'system:%' "
        "ORDER BY created_at DESC, seq DESC LIMIT 1")
    chosen = plan(dialect, statement, ["a", "USD", "2026"])
    assert "entries_at" in chosen and "TEMP B-TREE" not in chosen, chosen


# --- the hash chain -----------------------------------------------------------------------------

def test_every_entry_is_chained_to_the_one_before_on_its_account(
    store: SqlLedgerStore, clock: StepClock
) -> None:
    user, other = unique("user"), unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD", reference="r"), Deposit(other, 5, "USD"))
    apply(store, clock, Transfer(user, other, 100, "USD", metadata=(("k", "v"),)))
    hold = place(store, clock, user, 200).change.hold
    apply(store, clock, CaptureHold(hold.id, user, 200, "USD"))
    with store.journal_snapshot() as journal:
        for account in journal.audited_accounts(user):
            entries = journal.journal(account.account_id, account.currency, 0, 100)
            assert len(entries) == 3
            previous = GENESIS
            for entry in entries:
                assert entry.hash == chain_hash(previous, entry)
                previous = entry.hash
            assert account.head == previous
        assert journal.unbalanced_transactions(None, 10) == []


def test_holds_pages_newest_first_by_status(store: SqlLedgerStore, clock: StepClock) -> None:
    user = unique("user")
    apply(store, clock, Deposit(user, 1_000, "USD"))
    holds = [place(store, clock, user, 100).change.hold for _ in range(3)]
    apply(store, clock, VoidHold(holds[1].id, user, 100, "USD"))
    page = store.holds(HoldQuery(user, 2, status="held"))
    assert [row.hold.id for row in page] == [holds[2].id, holds[0].id]
    rest = store.holds(HoldQuery(user, 5, after_seq=page[0].seq))
    assert [row.hold.id for row in rest] == [holds[1].id, holds[0].id]
    assert [row.hold.status for row in store.holds(HoldQuery(user, 5, status="voided"))] == \
        ["voided"]
