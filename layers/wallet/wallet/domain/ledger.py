"""Double-entry ledger rules.

Every transaction posts entries that sum to zero. Deposits and payouts post
against named system accounts that stand for the world outside the wallet, so
user balances are always the sum of their own entries and money is never
created or destroyed inside the ledger. User balances never go negative.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer

DEPOSITS_ACCOUNT = "system:deposits"
PAYOUTS_ACCOUNT = "system:payouts"
SYSTEM_ACCOUNTS = frozenset({DEPOSITS_ACCOUNT, PAYOUTS_ACCOUNT})
BALANCE_MINOR_MAX = 2**63 - 1  # the widest integer both SQLite and PostgreSQL store exactly
BALANCE_MINOR_MIN = -(2**63)  # only system accounts go below zero, and never below this

BalanceKey = tuple[str, str]  # (account id, currency)
ENTRY_TYPES = ("deposit", "payout", "transfer_in", "transfer_out")  # one wallet's view of a kind
# Fixed-width UTC with microseconds: what the API shows and what the store keeps, so that
# text order is time order.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Posting:
    account_id: str
    amount_minor: int  # signed: credits are positive
    balance_after_minor: int


@dataclass(frozen=True)
class Transaction:
    id: str
    kind: str  # deposit | payout | transfer
    currency: str
    amount_minor: int
    created_at: datetime
    postings: tuple[Posting, ...]

    def posting_for(self, account_id: str) -> Posting | None:
        return next((p for p in self.postings if p.account_id == account_id), None)

    @property
    def user_postings(self) -> tuple[Posting, ...]:
        return tuple(p for p in self.postings if p.account_id not in SYSTEM_ACCOUNTS)


@dataclass(frozen=True)
class Rejection:
    code: str  # insufficient_funds | balance_limit_exceeded | idempotency_key_reused
    message: str


def legs(command: LedgerCommand) -> tuple[str, str]:
    """The (debited, credited) accounts of a command."""
    match command:
        case Deposit():
            return DEPOSITS_ACCOUNT, command.user_id
        case Payout():
            return command.user_id, PAYOUTS_ACCOUNT
        case Transfer():
            return command.from_user_id, command.to_user_id
    raise AssertionError(f"unknown command {command!r}")


def kind_of(command: LedgerCommand) -> str:
    return type(command).__name__.lower()


def entry_type(kind: str, amount_minor: int) -> str:
    """What one posting of a transaction of `kind` is, from its wallet's side."""
    if kind != "transfer":
        return kind
    return "transfer_in" if amount_minor > 0 else "transfer_out"


class Book:
    """The balances one batch touches, updated in memory as the batch posts."""

    def __init__(self, balances: Mapping[BalanceKey, int]) -> None:
        self._balances = dict(balances)
        self.changed: dict[BalanceKey, int] = {}

    def balance(self, account_id: str, currency: str) -> int:
        return self._balances.get((account_id, currency), 0)

    def post(
        self, command: LedgerCommand, transaction_id: str, now: datetime
    ) -> Transaction | Rejection:
        debited, credited = legs(command)
        amount, currency = command.amount_minor, command.currency
        assert amount > 0, "amounts are validated before they reach the ledger"
        rejection = self._check(debited, credited, amount, currency)
        if rejection is not None:
            return rejection
        postings = (self._move(debited, -amount, currency), self._move(credited, amount, currency))
        assert sum(p.amount_minor for p in postings) == 0, "a transaction's postings sum to zero"
        assert all(p.balance_after_minor >= 0 for p in postings
                   if p.account_id not in SYSTEM_ACCOUNTS), \
            "a user balance is never negative after posting"
        return Transaction(transaction_id, kind_of(command), currency, amount, now, postings)

    def _check(self, debited: str, credited: str, amount: int, currency: str) -> Rejection | None:
        debited_floor = BALANCE_MINOR_MIN if debited in SYSTEM_ACCOUNTS else 0
        if self.balance(debited, currency) - amount < debited_floor:
            if debited_floor == 0:
                return Rejection("insufficient_funds",
                                 f"insufficient funds: wallet {debited} has too little {currency}")
            return Rejection("balance_limit_exceeded", f"the ledger cannot take more {currency}")
        if self.balance(credited, currency) > BALANCE_MINOR_MAX - amount:
            return Rejection(
                "balance_limit_exceeded", f"wallet {credited} cannot hold more {currency}"
            )
        return None

    def _move(self, account_id: str, amount: int, currency: str) -> Posting:
        key = (account_id, currency)
        after = self._balances.get(key, 0) + amount
        self._balances[key] = after
        self.changed[key] = after
        return Posting(account_id, amount, after)
