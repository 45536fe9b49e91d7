"""service_layer/views.py: what clients see, and what a user may not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wallet.domain.access import Principal
from wallet.domain.events import CommandRejected, TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, PAYOUTS_ACCOUNT, Posting, Rejection, Transaction
from wallet.domain.money import Currency
from wallet.service_layer.ports import HistoryEntry, WalletBalances
from wallet.service_layer.views import (
    balances_view,
    currencies_view,
    entry_of,
    history_item,
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
