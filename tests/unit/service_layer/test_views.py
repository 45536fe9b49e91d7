"""service_layer/views.py: what clients see, and what a user may not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from wallet.domain.access import Principal
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
from wallet.domain.money import Currency
from wallet.service_layer.ports import HistoryEntry, WalletBalances
from wallet.service_layer.views import (
    balance_updated,
    balances_view,
    currencies_view,
    entry_of,
    history_item,
    hold_updated,
    hold_view,
    outcome_view,
    transaction_view,
)

from ..fakes import ALICE, BOB, NOW, OPERATOR

TRANSFER = Transaction("t-1", "transfer", "USD", 1250, NOW,
                       (Posting("alice", -1250, 8750), Posting("bob", 1250, 1250)))
TRANSFER_HEAD = {"id": "t-1", "type": "transfer", "status": "committed", "amount": "12.50",
                 "currency": "USD", "fromUserId": "alice", "toUserId": "bob",
                 "createdAt": "2026-11-25T10:00:00.123456Z"}


def test_an_operator_sees_both_sides_of_a_transfer() -> None:
    assert transaction_view(TRANSFER, OPERATOR) == {
        **TRANSFER_HEAD, "fromBalanceAfter": "87.50", "toBalanceAfter": "12.50"}


@pytest.mark.parametrize(
    ("viewer", "shown", "hidden"),
    [(ALICE, "fromBalanceAfter", "toBalanceAfter"), (BOB, "toBalanceAfter", "fromBalanceAfter")],
)
def test_a_user_sees_only_their_own_side_of_a_transfer(
    viewer: Principal, shown: str, hidden: str
) -> None:
    view = transaction_view(TRANSFER, viewer)
    assert shown in view
    assert hidden not in view
    assert {k: v for k, v in view.items() if k != shown} == TRANSFER_HEAD


def test_a_deposit_shows_the_wallet_and_its_balance() -> None:
    deposit = Transaction("t-2", "deposit", "JPY", 500, NOW,
                          (Posting(DEPOSITS_ACCOUNT, -500, -900), Posting("alice", 500, 700)))
    assert transaction_view(deposit, ALICE) == {
        "id": "t-2", "type": "deposit", "status": "committed", "amount": "500",
        "currency": "JPY", "userId": "alice", "balanceAfter": "700",
        "createdAt": "2026-11-25T10:00:00.123456Z"}


def test_a_payout_shows_the_wallet_not_the_payouts_account() -> None:
    payout = Transaction("t-3", "payout", "KWD", 1500, NOW,
                         (Posting("alice", -1500, 250), Posting(PAYOUTS_ACCOUNT, 1500, 9000)))
    view = transaction_view(payout, OPERATOR)
    assert (view["userId"], view["amount"], view["balanceAfter"]) == ("alice", "1.500", "0.250")


def test_created_at_is_rendered_in_utc_with_microseconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    transaction = Transaction("t", "transfer", "USD", 1, moment,
                              (Posting("alice", -1, 0), Posting("bob", 1, 1)))
    assert transaction_view(transaction, OPERATOR)["createdAt"] == "2026-01-02T03:04:05.000000Z"


def test_outcome_view_of_a_rejection_carries_its_error() -> None:
    rejected = CommandRejected("c-1", "h", Rejection("insufficient_funds", "too little"),
                               NOW, "alice")
    assert outcome_view(rejected, ALICE) == {
        "id": "c-1", "status": "rejected",
        "error": {"code": "insufficient_funds", "message": "too little"}}


def test_outcome_view_of_a_commit_is_the_transaction_view() -> None:
    assert outcome_view(TransactionCommitted("t-1", "h", TRANSFER), BOB) == transaction_view(
        TRANSFER, BOB)


def test_history_item_of_a_deposit_has_no_counterparty() -> None:
    entry = HistoryEntry(3, "t-2", "deposit", "USD", 500, 700, DEPOSITS_ACCOUNT, NOW, "alice")
    assert history_item(entry) == {
        "id": "t-2", "userId": "alice", "type": "deposit", "amount": "5.00", "currency": "USD",
        "balanceAfter": "7.00", "status": "committed",
        "createdAt": "2026-11-25T10:00:00.123456Z"}


@pytest.mark.parametrize("entry_type", ["transfer_in", "transfer_out"])
def test_history_item_of_a_transfer_names_the_counterparty(entry_type: str) -> None:
    entry = HistoryEntry(3, "t-1", entry_type, "JPY", 1250, 0, "bob", NOW)
    item = history_item(entry)
    assert (item["type"], item["amount"], item["balanceAfter"], item["counterparty"]) == (
        entry_type, "1250", "0", "bob")


@pytest.mark.parametrize(
    ("index", "entry_type", "counterparty"),
    [(0, "transfer_out", "bob"), (1, "transfer_in", "alice")],
)
def test_entry_of_gives_each_wallet_its_own_view(
    index: int, entry_type: str, counterparty: str
) -> None:
    posting = TRANSFER.postings[index]
    entry = entry_of(TRANSFER, posting)
    assert (entry.entry_type, entry.counterparty, entry.amount_minor,
            entry.balance_after_minor) == (entry_type, counterparty, 1250,
                                           posting.balance_after_minor)


def test_balances_view_formats_each_currency_and_sorts_them() -> None:
    view = balances_view("alice", "USD", WalletBalances({"USD": 8750, "EUR": 300, "JPY": 5}, {}))
    assert view == {"userId": "alice", "currency": "USD", "balance": "87.50",
                    "available": "87.50", "held": "0.00",
                    "balances": {"EUR": "3.00", "JPY": "5", "USD": "87.50"},
                    "availableBalances": {"EUR": "3.00", "JPY": "5", "USD": "87.50"},
                    "heldBalances": {"EUR": "0.00", "JPY": "0", "USD": "0.00"}}
    assert list(view["balances"]) == ["EUR", "JPY", "USD"]


def test_balances_view_reads_a_currency_never_used_as_zero() -> None:
    view = balances_view("alice", "KWD", WalletBalances({}, {}))
    assert (view["balance"], view["available"], view["held"], view["balances"]) == (
        "0.000", "0.000", "0.000", {})


def test_balances_view_takes_held_money_out_of_what_is_available() -> None:
    view = balances_view("alice", "EUR", WalletBalances({"USD": 8750, "EUR": 300},
                                                        {"USD": 1250}))
    assert (view["balance"], view["available"], view["held"]) == ("3.00", "3.00", "0.00")
    assert view["availableBalances"] == {"EUR": "3.00", "USD": "75.00"}
    assert view["heldBalances"] == {"EUR": "0.00", "USD": "12.50"}
    assert "at" not in view


def test_balances_view_as_of_an_instant_echoes_it() -> None:
    view = balances_view("alice", "USD", WalletBalances({"USD": 1}, {}), NOW)
    assert view["at"] == "2026-11-25T10:00:00.123456Z"


def test_the_currency_table_is_sorted_by_code_and_names_the_configured_default() -> None:
    view = currencies_view(Currency("EUR", 2), {"XAF": 0, "USD": 2, "CLF": 4})
    assert view == {"default": "EUR", "currencies": [
        {"code": "CLF", "exponent": 4}, {"code": "USD", "exponent": 2},
        {"code": "XAF", "exponent": 0}]}


# --- issue 12: holds, captures and labels --------------------------------------------------

HELD = Hold("h-1", "alice", "USD", 1250, "held", 0, NOW + timedelta(days=7), NOW, NOW,
            "order-7", (("shop", "north"),))
CAPTURED = replace(HELD, status="captured", captured_minor=1000,
                   updated_at=NOW + timedelta(seconds=1))
CAPTURE = Transaction("c-2", "capture", "USD", 1000, NOW + timedelta(seconds=1),
                      (Posting("alice", -1000, 4000, 0), Posting(PAYOUTS_ACCOUNT, 1000, 1000)),
                      "order-7", (("shop", "north"),), "h-1")
HOLD_VIEW = {"id": "h-1", "userId": "alice", "amount": "12.50", "currency": "USD",
             "status": "held", "capturedAmount": "0.00",
             "expiresAt": "2026-12-02T10:00:00.123456Z",
             "createdAt": "2026-11-25T10:00:00.123456Z",
             "updatedAt": "2026-11-25T10:00:00.123456Z",
             "reference": "order-7", "metadata": {"shop": "north"}}


def test_a_hold_is_shown_with_its_money_as_decimals_and_its_labels() -> None:
    assert hold_view(HELD) == HOLD_VIEW


def test_a_hold_without_labels_leaves_them_out() -> None:
    view = hold_view(replace(HELD, reference=None, metadata=()))
    assert "reference" not in view and "metadata" not in view


def test_a_capture_is_a_transaction_naming_its_hold() -> None:
    assert transaction_view(CAPTURE, ALICE) == {
        "id": "c-2", "type": "capture", "status": "committed", "amount": "10.00",
        "currency": "USD", "userId": "alice", "balanceAfter": "40.00", "holdId": "h-1",
        "createdAt": "2026-11-25T10:00:01.123456Z", "reference": "order-7",
        "metadata": {"shop": "north"}}


def test_a_transaction_shows_its_labels_only_when_it_has_them() -> None:
    labelled = replace(TRANSFER, reference="rent", metadata=(("month", "11"),))
    assert transaction_view(labelled, OPERATOR) == {
        **TRANSFER_HEAD, "fromBalanceAfter": "87.50", "toBalanceAfter": "12.50",
        "reference": "rent", "metadata": {"month": "11"}}
    assert "reference" not in transaction_view(TRANSFER, OPERATOR)


def test_outcome_views_of_hold_changes_answer_what_each_write_answers() -> None:
    placed = HoldUpdated("h-1", "h", HoldChange(HELD, 1250, 1250, 5000))
    captured = HoldUpdated("c-2", "h", HoldChange(CAPTURED, -1250, 0, 4000, CAPTURE))
    voided = HoldUpdated("v-3", "h", HoldChange(replace(HELD, status="voided"), -1250, 0, 5000))
    assert outcome_view(placed, ALICE) == HOLD_VIEW
    assert outcome_view(captured, ALICE) == {"hold": hold_view(CAPTURED),
                                             "transaction": transaction_view(CAPTURE, ALICE)}
    assert outcome_view(voided, ALICE)["status"] == "voided"


def test_a_history_item_carries_labels_and_a_captures_hold() -> None:
    item = history_item(entry_of(CAPTURE, CAPTURE.postings[0]))
    assert item == {"id": "c-2", "userId": "alice", "type": "capture", "amount": "10.00",
                    "currency": "USD", "balanceAfter": "40.00", "status": "committed",
                    "createdAt": "2026-11-25T10:00:01.123456Z", "holdId": "h-1",
                    "reference": "order-7", "metadata": {"shop": "north"}}


def test_balance_updated_says_what_is_held_and_available() -> None:
    payout = Transaction("t-5", "payout", "USD", 100, NOW,
                         (Posting("alice", -100, 900, 250), Posting(PAYOUTS_ACCOUNT, 100, 100)))
    event = balance_updated(payout, payout.postings[0])
    assert (event["balance"], event["available"], event["held"]) == ("9.00", "6.50", "2.50")


def test_hold_updated_carries_the_hold_and_its_wallets_money() -> None:
    assert hold_updated(HoldChange(HELD, 1250, 2000, 5000)) == {
        "event": "holdUpdated", "hold": HOLD_VIEW, "userId": "alice", "currency": "USD",
        "balance": "50.00", "available": "30.00", "held": "20.00"}
