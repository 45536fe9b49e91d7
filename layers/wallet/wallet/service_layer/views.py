"""What clients see: decimal strings, camelCase, and nothing they may not read.

Optional fields (a write's labels, a capture's hold) are left out when absent,
never sent as null.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wallet.domain.access import Principal
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome
from wallet.domain.holds import Hold
from wallet.domain.labels import labels_json
from wallet.domain.ledger import (
    SYSTEM_ACCOUNTS,
    TIMESTAMP_FORMAT,
    HoldChange,
    Posting,
    Transaction,
    entry_type,
)
from wallet.domain.money import Currency, currency_of, format_minor
from wallet.service_layer.ports import HistoryEntry, WalletBalances


def money(minor: int, currency: str) -> str:
    return format_minor(minor, currency_of(currency))


def timestamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


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
    if transaction.hold_id is not None:
        view["holdId"] = transaction.hold_id
    view["createdAt"] = timestamp(transaction.created_at)
    return view | labels_json(transaction.reference, transaction.metadata)


def hold_view(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id, "userId": hold.user_id, "amount": money(hold.amount_minor, hold.currency),
        "currency": hold.currency, "status": hold.status,
        "capturedAmount": money(hold.captured_minor, hold.currency),
        "expiresAt": timestamp(hold.expires_at), "createdAt": timestamp(hold.created_at),
        "updatedAt": timestamp(hold.updated_at),
    } | labels_json(hold.reference, hold.metadata)


def outcome_view(outcome: Outcome, viewer: Principal) -> dict[str, Any]:
    """What the write answered; a read of its id answers the same."""
    if isinstance(outcome, CommandRejected):
        error = {"code": outcome.rejection.code, "message": outcome.rejection.message}
        return {"id": outcome.command_id, "status": "rejected", "error": error}
    if isinstance(outcome, HoldUpdated):
        return hold_change_view(outcome.change, viewer)
    return transaction_view(outcome.transaction, viewer)


def hold_change_view(change: HoldChange, viewer: Principal) -> dict[str, Any]:
    """The hold; a capture adds the transaction that moved the money."""
    if change.transaction is None:
        return hold_view(change.hold)
    return {"hold": hold_view(change.hold),
            "transaction": transaction_view(change.transaction, viewer)}


def history_item(entry: HistoryEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.transaction_id, "userId": entry.account_id, "type": entry.entry_type,
        "amount": money(entry.amount_minor, entry.currency), "currency": entry.currency,
        "balanceAfter": money(entry.balance_after_minor, entry.currency),
        "status": "committed", "createdAt": timestamp(entry.created_at),
    }
    if entry.entry_type.startswith("transfer"):
        item["counterparty"] = entry.counterparty
    if entry.hold_id is not None:
        item["holdId"] = entry.hold_id
    return item | labels_json(entry.reference, entry.metadata)


def entry_of(transaction: Transaction, posting: Posting) -> HistoryEntry:
    """One wallet's view of a transaction, as history would list it."""
    other = next(p.account_id for p in transaction.postings if p is not posting)
    kind = entry_type(transaction.kind, posting.amount_minor)
    return HistoryEntry(0, transaction.id, kind, transaction.currency,
                        abs(posting.amount_minor), posting.balance_after_minor, other,
                        transaction.created_at, posting.account_id, transaction.reference,
                        transaction.metadata, transaction.hold_id)


def balance_updated(transaction: Transaction, posting: Posting) -> dict[str, Any]:
    """A fresh posting knows its account's held money, so the event carries `available`."""
    code, balance, held = transaction.currency, posting.balance_after_minor, posting.held_minor
    return {
        "event": "balanceUpdated", "userId": posting.account_id, "currency": code,
        "balance": money(balance, code), "available": money(balance - held, code),
        "held": money(held, code), "transaction": history_item(entry_of(transaction, posting)),
    }


def hold_updated(change: HoldChange) -> dict[str, Any]:
    hold, balance, held = change.hold, change.balance_after_minor, change.held_after_minor
    code = hold.currency
    return {
        "event": "holdUpdated", "hold": hold_view(hold), "userId": hold.user_id,
        "currency": code, "balance": money(balance, code),
        "available": money(balance - held, code), "held": money(held, code),
    }


def balances_view(
    user_id: str, currency: str, wallet: WalletBalances, at: datetime | None = None
) -> dict[str, Any]:
    """The selected currency's figures, and a map of each over every currency held."""
    codes = sorted(wallet.balances)
    view = {
        "userId": user_id, "currency": currency,
        "balance": money(wallet.balances.get(currency, 0), currency),
        "available": money(wallet.available(currency), currency),
        "held": money(wallet.held.get(currency, 0), currency),
        "balances": {code: money(wallet.balances[code], code) for code in codes},
        "availableBalances": {code: money(wallet.available(code), code) for code in codes},
        "heldBalances": {code: money(wallet.held.get(code, 0), code) for code in codes},
    }
    return view if at is None else view | {"at": timestamp(at)}


def currencies_view(default: Currency, exponents: Mapping[str, int]) -> dict[str, Any]:
    """The currency table as the dashboard reads it: by code, so the answer never reorders."""
    table = [{"code": code, "exponent": exponent} for code, exponent in sorted(exponents.items())]
    return {"default": default.code, "currencies": table}
