"""What clients see: decimal strings, camelCase, and nothing they may not read."""

from collections.abc import Mapping
from typing import Any

from wallet.domain.access import Principal
from wallet.domain.events import CommandRejected, Outcome
from wallet.domain.ledger import (
    SYSTEM_ACCOUNTS,
    TIMESTAMP_FORMAT,
    Posting,
    Transaction,
    entry_type,
)
from wallet.domain.money import Currency, currency_of, format_minor
from wallet.service_layer.ports import HistoryEntry


def money(minor: int, currency: str) -> str:
    return format_minor(minor, currency_of(currency))


def transaction_view(transaction: Transaction, viewer: Principal) -> dict[str, Any]:
    """A transaction as its viewer may see it: another user's balance is never shown."""
    view: dict[str, Any] = {
        "id": transaction.id, "type": transaction.kind, "status": "committed",
        "amount": money(transaction.amount_minor, transaction.currency),
        "currency": transaction.currency,
    }
    debit, credit = sorted(transaction.postings, key=lambda p: p.amount_minor)
    if transaction.kind == "transfer":
        view |= {"fromUserId": debit.account_id, "toUserId": credit.account_id}
        for name, posting in (("fromBalanceAfter", debit), ("toBalanceAfter", credit)):
            if viewer.is_operator or viewer.subject == posting.account_id:
                view[name] = money(posting.balance_after_minor, transaction.currency)
    else:
        user = credit if credit.account_id not in SYSTEM_ACCOUNTS else debit
        view |= {"userId": user.account_id,
                 "balanceAfter": money(user.balance_after_minor, transaction.currency)}
    view["createdAt"] = transaction.created_at.strftime(TIMESTAMP_FORMAT)
    return view


def outcome_view(outcome: Outcome, viewer: Principal) -> dict[str, Any]:
    if isinstance(outcome, CommandRejected):
        error = {"code": outcome.rejection.code, "message": outcome.rejection.message}
        return {"id": outcome.command_id, "status": "rejected", "error": error}
    return transaction_view(outcome.transaction, viewer)


def history_item(entry: HistoryEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.transaction_id, "userId": entry.account_id, "type": entry.entry_type,
        "amount": money(entry.amount_minor, entry.currency), "currency": entry.currency,
        "balanceAfter": money(entry.balance_after_minor, entry.currency),
        "status": "committed", "createdAt": entry.created_at.strftime(TIMESTAMP_FORMAT),
    }
    if entry.entry_type.startswith("transfer"):
        item["counterparty"] = entry.counterparty
    return item


def entry_of(transaction: Transaction, posting: Posting) -> HistoryEntry:
    """One wallet's view of a transaction, as history would list it."""
    other = next(p.account_id for p in transaction.postings if p is not posting)
    kind = entry_type(transaction.kind, posting.amount_minor)
    return HistoryEntry(0, transaction.id, kind, transaction.currency,
                        abs(posting.amount_minor), posting.balance_after_minor, other,
                        transaction.created_at, posting.account_id)


def balance_updated(transaction: Transaction, posting: Posting) -> dict[str, Any]:
    return {
        "event": "balanceUpdated", "userId": posting.account_id,
        "currency": transaction.currency,
        "balance": money(posting.balance_after_minor, transaction.currency),
        "transaction": history_item(entry_of(transaction, posting)),
    }


def balances_view(user_id: str, currency: str, balances: dict[str, int]) -> dict[str, Any]:
    return {
        "userId": user_id, "currency": currency,
        "balance": money(balances.get(currency, 0), currency),
        "balances": {code: money(minor, code) for code, minor in sorted(balances.items())},
    }


def currencies_view(default: Currency, exponents: Mapping[str, int]) -> dict[str, Any]:
    """The currency table as the dashboard reads it: by code, so the answer never reorders."""
    table = [{"code": code, "exponent": exponent} for code, exponent in sorted(exponents.items())]
    return {"default": default.code, "currencies": table}
