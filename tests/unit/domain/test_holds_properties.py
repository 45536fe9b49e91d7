"""Holds in the Book as a state machine: random places, captures, voids and expiries
beside deposits, payouts and transfers, checked against a model after every step.

The model keeps each hold's amount and state and each wallet's balance; it
decides every command from those alone, in the words of the rules: a hold,
a payout or a transfer needs that much *available* (balance minus active
holds), a capture takes at most its hold, and an ended hold refuses both.
After every step: the Book's held money is the sum of the model's active
holds, it never exceeds the balance, balances are the model's, and money is
conserved.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    ExpireHold,
    PlaceHold,
    Transfer,
    VoidHold,
)
from wallet.domain.commands import Payout as PayoutCommand
from wallet.domain.holds import Hold
from wallet.domain.ledger import (
    DEPOSITS_ACCOUNT,
    PAYOUTS_ACCOUNT,
    Book,
    HoldChange,
    Rejection,
    Transaction,
)

from ..fakes import NOW

USERS = ("alice", "bob")
CURRENCY = "USD"  # one: the multi-currency rules are the ledger machine's
AMOUNTS = st.integers(1, 500)
EXPIRIES_S = st.integers(1, 120)
EXAMPLES = 150


@dataclass
class ModelHold:
    user: str
    amount: int
    expires_at_s: int
    state: str = "held"


class HoldsMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.book = Book({})
        self.balances: dict[str, int] = defaultdict(int)
        self.model: dict[str, ModelHold] = {}
        self.captured_total = 0
        self.deposited = self.paid_out = 0
        self.seconds = 0  # the clock, in whole seconds since NOW
        self.ids = 0

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.seconds)

    def next_id(self) -> str:
        self.ids += 1
        return f"00000000-0000-4000-8000-{self.ids:012d}"

    def available(self, user: str) -> int:
        return self.balances[user] - sum(h.amount for h in self.model.values()
                                         if h.user == user and h.state == "held")

    def expire_due(self, user: str) -> None:
        """What apply_batch does before each command: due holds of the wallet expire."""
        for hold in self.book.due_holds([user], self.now()):
            change = self.book.post(ExpireHold(hold.id, user, hold.amount_minor, CURRENCY),
                                    f"x-{hold.id}", self.now())
            assert isinstance(change, HoldChange) and change.hold.status == "expired"
            assert self.model[hold.id].expires_at_s <= self.seconds
            self.model[hold.id].state = "expired"
        for hold_id, kept in self.model.items():
            assert not (kept.user == user and kept.state == "held"
                        and kept.expires_at_s <= self.seconds), f"{hold_id} was due"

    @rule(user=st.sampled_from(USERS), amount=AMOUNTS)
    def deposit(self, user: str, amount: int) -> None:
        self.expire_due(user)
        assert isinstance(self.book.post(Deposit(user, amount, CURRENCY), self.next_id(),
                                         self.now()), Transaction)
        self.balances[user] += amount
        self.deposited += amount

    @rule(user=st.sampled_from(USERS), amount=AMOUNTS)
    def payout(self, user: str, amount: int) -> None:
        self.expire_due(user)
        result = self.book.post(PayoutCommand(user, amount, CURRENCY), self.next_id(), self.now())
        if amount > self.available(user):
            assert isinstance(result, Rejection) and result.code == "insufficient_funds"
            return
        assert isinstance(result, Transaction)
        self.balances[user] -= amount
        self.paid_out += amount

    @rule(pair=st.permutations(USERS), amount=AMOUNTS)
    def transfer(self, pair: list[str], amount: int) -> None:
        source, target = pair[0], pair[1]
        self.expire_due(source)
        result = self.book.post(Transfer(source, target, amount, CURRENCY), self.next_id(),
                                self.now())
        if amount > self.available(source):
            assert isinstance(result, Rejection) and result.code == "insufficient_funds"
            return
        assert isinstance(result, Transaction)
        self.balances[source] -= amount
        self.balances[target] += amount

    @rule(target=holds, user=st.sampled_from(USERS), amount=AMOUNTS, expiry=EXPIRIES_S)
    def place(self, user: str, amount: int, expiry: int) -> str:
        self.expire_due(user)
        hold_id = self.next_id()
        result = self.book.post(PlaceHold(user, amount, CURRENCY, expires_in_s=expiry),
                                hold_id, self.now())
        if amount > self.available(user):
            assert isinstance(result, Rejection) and result.code == "insufficient_funds"
            return hold_id  # a hold that never was: every later command on it is refused
        assert isinstance(result, HoldChange) and result.hold.status == "held"
        self.model[hold_id] = ModelHold(user, amount, self.seconds + expiry)
        return hold_id

    @rule(hold_id=holds, amount=AMOUNTS, whole=st.booleans())
    def capture(self, hold_id: str, amount: int, whole: bool) -> None:
        hold = self.model.get(hold_id)
        user = hold.user if hold else "alice"
        self.expire_due(user)
        if whole and hold is not None:
            amount = hold.amount
        result = self.book.post(CaptureHold(hold_id, user, amount, CURRENCY), self.next_id(),
                                self.now())
        if hold is None or hold.state != "held":
            assert isinstance(result, Rejection) and result.code == "hold_not_active"
            return
        if amount > hold.amount:
            assert isinstance(result, Rejection) and result.code == "amount_exceeds_hold"
            return
        assert isinstance(result, HoldChange) and result.transaction is not None
        assert result.hold.captured_minor == amount and result.transaction.hold_id == hold_id
        hold.state = "captured"
        self.balances[user] -= amount
        self.paid_out += amount

    @rule(hold_id=holds)
    def void(self, hold_id: str) -> None:
        hold = self.model.get(hold_id)
        user = hold.user if hold else "alice"
        self.expire_due(user)
        result = self.book.post(VoidHold(hold_id, user, hold.amount if hold else 1, CURRENCY),
                                self.next_id(), self.now())
        if hold is None or hold.state != "held":
            assert isinstance(result, Rejection) and result.code == "hold_not_active"
            return
        assert isinstance(result, HoldChange) and result.hold.status == "voided"
        hold.state = "voided"

    @rule(seconds=st.integers(1, 90))
    def wait(self, seconds: int) -> None:
        self.seconds += seconds

    @invariant()
    def held_money_is_the_active_holds(self) -> None:
        for user in USERS:
            active = sum(h.amount for h in self.model.values()
                         if h.user == user and h.state == "held")
            assert self.book.held(user, CURRENCY) == active
            assert 0 <= self.book.held(user, CURRENCY) <= self.book.balance(user, CURRENCY)
            assert self.book.balance(user, CURRENCY) == self.balances[user]

    @invariant()
    def money_is_conserved(self) -> None:
        assert self.book.balance(DEPOSITS_ACCOUNT, CURRENCY) == -self.deposited
        assert self.book.balance(PAYOUTS_ACCOUNT, CURRENCY) == self.paid_out
        assert sum(self.book.balance(u, CURRENCY) for u in USERS) == \
            self.deposited - self.paid_out

    @invariant()
    def a_hold_never_ends_twice(self) -> None:
        for hold_id, hold in self.model.items():
            kept: Hold | None = self.book.holds_changed.get(hold_id)
            assert kept is not None and kept.status == hold.state


HoldsMachine.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=40,
                                          deadline=None)
TestHolds = HoldsMachine.TestCase
