"""Double-entry ledger rules.

Every transaction posts entries that sum to zero. Deposits and payouts post
against named system accounts that stand for the world outside the wallet, so
user balances are always the sum of their own entries and money is never
created or destroyed inside the ledger. User balances never go negative.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    ExpireHold,
    LedgerCommand,
    Metadata,
    Payout,
    PlaceHold,
    Transfer,
    VoidHold,
    kind_of,
)
from wallet.domain.holds import Hold

DEPOSITS_ACCOUNT = "system:deposits"
PAYOUTS_ACCOUNT = "system:payouts"
SYSTEM_ACCOUNTS = frozenset({DEPOSITS_ACCOUNT, PAYOUTS_ACCOUNT})
BALANCE_MINOR_MAX = 2**63 - 1  # the widest integer both SQLite and PostgreSQL store exactly
BALANCE_MINOR_MIN = -(2**63)  # only system accounts go below zero, and never below this

BalanceKey = tuple[str, str]  # (account id, currency)
TRANSACTION_KINDS = ("deposit", "payout", "transfer", "hold", "capture", "void", "expire")
# One wallet's view of a kind that moves money; holds, voids and expiries move none.
ENTRY_TYPES = ("deposit", "payout", "transfer_in", "transfer_out", "capture")
# Fixed-width UTC with microseconds: what the API shows and what the store keeps, so that
# text order is time order.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Posting:
    account_id: str
    amount_minor: int  # signed: credits are positive
    balance_after_minor: int
    # The account's held money once posted. A fresh outcome knows it (events carry it, for
    # `available`); one rebuilt from the journal says 0, since entries record no holds.
    held_minor: int = 0


@dataclass(frozen=True)
class Transaction:
    id: str
    kind: str  # deposit | payout | transfer | capture
    currency: str
    amount_minor: int
    created_at: datetime
    postings: tuple[Posting, ...]
    reference: str | None = None
    metadata: Metadata = ()
    hold_id: str | None = None  # a capture's hold

    def posting_for(self, account_id: str) -> Posting | None:
        return next((p for p in self.postings if p.account_id == account_id), None)

    @property
    def user_postings(self) -> tuple[Posting, ...]:
        return tuple(p for p in self.postings if p.account_id not in SYSTEM_ACCOUNTS)


@dataclass(frozen=True)
class HoldChange:
    """What a hold command did: the hold as it now stands, and its wallet's money after."""

    hold: Hold
    held_delta_minor: int  # signed: a new hold adds, every ending releases the whole hold
    held_after_minor: int  # the wallet's held money in the hold's currency
    balance_after_minor: int
    transaction: Transaction | None = None  # a capture's; nothing else moves money


@dataclass(frozen=True)
class Rejection:
    # insufficient_funds | balance_limit_exceeded | idempotency_key_reused | hold_not_active
    # | amount_exceeds_hold
    code: str
    message: str


Posted = Transaction | Rejection | HoldChange | None  # None: nothing to do, nothing to record


def accounts(command: LedgerCommand) -> tuple[str, ...]:
    """Every account a command may touch: the accounts its batch locks and loads."""
    match command:
        case Deposit() | Payout() | Transfer():
            return legs(command)
        case CaptureHold():
            return command.user_id, PAYOUTS_ACCOUNT
        case PlaceHold() | VoidHold() | ExpireHold():
            return (command.user_id,)
    raise AssertionError(f"unknown command {command!r}")


def legs(command: Deposit | Payout | Transfer | CaptureHold) -> tuple[str, str]:
    """The (debited, credited) accounts of a command that moves money."""
    match command:
        case Deposit():
            return DEPOSITS_ACCOUNT, command.user_id
        case Payout() | CaptureHold():
            return command.user_id, PAYOUTS_ACCOUNT
        case Transfer():
            return command.from_user_id, command.to_user_id
    raise AssertionError(f"unknown command {command!r}")


def entry_type(kind: str, amount_minor: int) -> str:
    """What one posting of a transaction of `kind` is, from its wallet's side."""
    if kind != "transfer":
        return kind
    return "transfer_in" if amount_minor > 0 else "transfer_out"


class Book:
    """The balances, held amounts and holds one batch touches, updated as the batch posts.

    A wallet's `held` is the sum of its active holds, and never exceeds its
    balance; payouts, transfers out and new holds all draw on `available`.
    """

    def __init__(
        self, balances: Mapping[BalanceKey, int], held: Mapping[BalanceKey, int] | None = None,
        holds: Mapping[str, Hold] | None = None,
    ) -> None:
        self._balances = dict(balances)
        self._held = dict(held or {})
        self._holds = dict(holds or {})
        # Hold ids by wallet: each command asks for its wallets' due holds, and a batch may
        # hold many holds of many wallets; a scan of them all per command would be quadratic.
        self._holds_of: dict[str, set[str]] = {}
        for hold in self._holds.values():
            self._holds_of.setdefault(hold.user_id, set()).add(hold.id)
        self.changed: dict[BalanceKey, int] = {}
        self.held_changed: dict[BalanceKey, int] = {}
        self.holds_changed: dict[str, Hold] = {}

    def balance(self, account_id: str, currency: str) -> int:
        return self._balances.get((account_id, currency), 0)

    def held(self, account_id: str, currency: str) -> int:
        return self._held.get((account_id, currency), 0)

    def available(self, account_id: str, currency: str) -> int:
        return self.balance(account_id, currency) - self.held(account_id, currency)

    def due_holds(self, account_ids: Collection[str], now: datetime) -> list[Hold]:
        """Active holds of these wallets past their expiry by `now`, soonest first."""
        due = [self._holds[hold_id] for account in account_ids
               for hold_id in self._holds_of.get(account, ()) if self._holds[hold_id].due(now)]
        return sorted(due, key=lambda h: (h.expires_at, h.id))

    def post(self, command: LedgerCommand, transaction_id: str, now: datetime) -> Posted:
        assert command.amount_minor > 0, "amounts are validated before they reach the ledger"
        match command:
            case PlaceHold():
                return self._place(command, transaction_id, now)
            case CaptureHold():
                return self._capture(command, transaction_id, now)
            case VoidHold():
                active = self._active(command, now)
                return _not_active(command.hold_id) if active is None else \
                    self._end(active, "voided", now)
            case ExpireHold():
                hold = self._holds.get(command.hold_id)
                if hold is None or not _names(command, hold) or not hold.due(now):
                    return None  # already ended, or not yet due by this consumer's clock
                return self._end(hold, "expired", now)
        return self._move_money(command, transaction_id, now)

    def _move_money(
        self, command: Deposit | Payout | Transfer, transaction_id: str, now: datetime
    ) -> Transaction | Rejection:
        debited, credited = legs(command)
        amount, currency = command.amount_minor, command.currency
        rejection = self._check(debited, credited, amount, currency)
        if rejection is not None:
            return rejection
        return Transaction(transaction_id, kind_of(command), currency, amount, now,
                           self._postings(debited, credited, amount, currency),
                           command.reference, command.metadata)

    def _postings(
        self, debited: str, credited: str, amount: int, currency: str
    ) -> tuple[Posting, ...]:
        postings = (self._move(debited, -amount, currency), self._move(credited, amount, currency))
        assert sum(p.amount_minor for p in postings) == 0, "a transaction's postings sum to zero"
        assert all(0 <= p.held_minor <= p.balance_after_minor for p in postings
                   if p.account_id not in SYSTEM_ACCOUNTS), \
            "a user balance is never negative, nor below the money it holds"
        return postings

    def _check(self, debited: str, credited: str, amount: int, currency: str) -> Rejection | None:
        debited_floor = BALANCE_MINOR_MIN if debited in SYSTEM_ACCOUNTS else 0
        if self.available(debited, currency) - amount < debited_floor:
            if debited_floor == 0:
                return _insufficient(debited, currency)
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
        return Posting(account_id, amount, after, self.held(account_id, currency))

    def _place(self, command: PlaceHold, hold_id: str, now: datetime) -> HoldChange | Rejection:
        if self.available(command.user_id, command.currency) < command.amount_minor:
            return _insufficient(command.user_id, command.currency)
        hold = Hold(hold_id, command.user_id, command.currency, command.amount_minor, "held", 0,
                    now + timedelta(seconds=command.expires_in_s), now, now,
                    command.reference, command.metadata)
        return self._hold_changed(hold, command.amount_minor)

    def _capture(
        self, command: CaptureHold, transaction_id: str, now: datetime
    ) -> HoldChange | Rejection:
        hold = self._active(command, now)
        if hold is None:
            return _not_active(command.hold_id)
        if command.amount_minor > hold.amount_minor:
            return Rejection("amount_exceeds_hold",
                             f"a capture may take at most the hold's amount from hold {hold.id}")
        if self.balance(PAYOUTS_ACCOUNT, hold.currency) > BALANCE_MINOR_MAX - command.amount_minor:
            return Rejection("balance_limit_exceeded",
                             f"the ledger cannot pay out more {hold.currency}")
        self._release(hold)  # all of it: what is not captured goes back to `available`
        postings = self._postings(hold.user_id, PAYOUTS_ACCOUNT, command.amount_minor,
                                  hold.currency)
        transaction = Transaction(transaction_id, "capture", hold.currency, command.amount_minor,
                                  now, postings, hold.reference, hold.metadata, hold.id)
        captured = replace(hold, status="captured", captured_minor=command.amount_minor,
                           updated_at=now)
        return self._hold_changed(captured, 0, transaction)

    def _end(self, hold: Hold, status: str, now: datetime) -> HoldChange:
        self._release(hold)
        return self._hold_changed(replace(hold, status=status, updated_at=now), 0)

    def _active(self, command: CaptureHold | VoidHold, now: datetime) -> Hold | None:
        """The hold the command names, if it still holds money at `now`."""
        hold = self._holds.get(command.hold_id)
        if hold is None or not _names(command, hold) or not hold.active or hold.due(now):
            return None
        return hold

    def _release(self, hold: Hold) -> None:
        key = (hold.user_id, hold.currency)
        self._held[key] = self.held(*key) - hold.amount_minor
        self.held_changed[key] = self._held[key]

    def _hold_changed(
        self, hold: Hold, added_minor: int, transaction: Transaction | None = None
    ) -> HoldChange:
        """Records the hold's new state; `added_minor` is money newly held (a new hold)."""
        key = (hold.user_id, hold.currency)
        before = self._holds.get(hold.id)
        if added_minor:
            self._held[key] = self.held(*key) + added_minor
            self.held_changed[key] = self._held[key]
        self._holds[hold.id] = self.holds_changed[hold.id] = hold
        self._holds_of.setdefault(hold.user_id, set()).add(hold.id)
        held, balance = self.held(*key), self.balance(*key)
        assert 0 <= held <= balance, "held money is never more than the balance"
        delta = added_minor if before is None else -before.amount_minor
        return HoldChange(hold, delta, held, balance, transaction)


def _names(command: CaptureHold | VoidHold | ExpireHold, hold: Hold) -> bool:
    """The wallet and currency the gateway read from the hold are the hold's own."""
    return (command.user_id, command.currency) == (hold.user_id, hold.currency)


def _insufficient(wallet: str, currency: str) -> Rejection:
    return Rejection("insufficient_funds",
                     f"insufficient funds: wallet {wallet} has too little {currency} available")


def _not_active(hold_id: str) -> Rejection:
    return Rejection("hold_not_active", f"hold {hold_id} is no longer active")
