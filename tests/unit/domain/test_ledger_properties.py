"""domain/ledger.py as a state machine: random postings on one Book, checked against a model.

Hypothesis posts deposits, payouts and transfers between a few wallets in two
currencies, with edge amounts (one minor unit, the largest balance, one past
it), and after every step checks that money is conserved, that no user
balance is negative, that every balance is its credits minus its debits, and
that a rejected command left every balance as it was.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from wallet.domain.commands import LedgerCommand
from wallet.domain.ledger import (
    BALANCE_MINOR_MAX,
    DEPOSITS_ACCOUNT,
    PAYOUTS_ACCOUNT,
    SYSTEM_ACCOUNTS,
    BalanceKey,
    Book,
    Rejection,
    Transaction,
    legs,
)

from ..fakes import NOW
from .ledger_model import (
    AMOUNTS,
    COMMITTED,
    CURRENCIES,
    DEPOSITED_MAX,
    LIMITS,
    USERS,
    LedgerModel,
    commands,
)

EXAMPLES = 100
STEPS_PER_EXAMPLE_MAX = 30
ACCOUNTS = (*USERS, *sorted(SYSTEM_ACCOUNTS))
KEYS = tuple(itertools.product(ACCOUNTS, CURRENCIES))
# The Book also meets amounts no balance can hold: the codec refuses them first, but the
# Book must still refuse, not post, them.
BOOK_AMOUNTS = st.one_of(AMOUNTS, st.just(BALANCE_MINOR_MAX + 1))
# What a batch may load: nothing, a little, or nearly the limit, so the limits of the system
# accounts, too, are a step or two away.
OPENING_BALANCES = st.one_of(st.just(0), st.integers(0, 1000),
                             st.integers(BALANCE_MINOR_MAX - 1000, BALANCE_MINOR_MAX))


@st.composite
def openings(draw: st.DrawFn) -> dict[BalanceKey, int]:
    """Balances some history could have left: what users hold and what was paid out came in
    through the deposits account, which owes the world at most DEPOSITED_MAX."""
    balances: dict[BalanceKey, int] = {}
    for currency in CURRENCIES:
        room = DEPOSITED_MAX
        for account in draw(st.permutations((PAYOUTS_ACCOUNT, *USERS))):
            balances[account, currency] = opening = min(draw(OPENING_BALANCES), room)
            room -= opening
        balances[DEPOSITS_ACCOUNT, currency] = room - DEPOSITED_MAX
    return balances


class BookMachine(RuleBasedStateMachine):
    """One Book, as one long batch sees it from the balances it loaded, and the journal of
    what it posted."""

    def __init__(self) -> None:
        super().__init__()
        self.book = Book({})
        self.model = LedgerModel()
        self.journal: list[Transaction] = []
        self.entry_sums: dict[BalanceKey, int] = defaultdict(int)  # credits minus debits
        self.ids = itertools.count(1)

    @initialize(opening=openings())
    def load(self, opening: dict[BalanceKey, int]) -> None:
        self.book = Book(opening)
        self.entry_sums.update(opening)
        for (account, currency), balance in opening.items():
            if account == DEPOSITS_ACCOUNT:
                self.model.deposited[currency] = -balance
            elif account == PAYOUTS_ACCOUNT:
                self.model.paid_out[currency] = balance
            else:
                self.model.balances[account, currency] = balance

    @rule(command=commands(BOOK_AMOUNTS))
    def post(self, command: LedgerCommand) -> None:
        self.check_post(command)

    @rule(command=commands(st.just(1)), edge=st.sampled_from(LIMITS), past=st.booleans())
    def post_at_a_limit(self, command: LedgerCommand, edge: str, past: bool) -> None:
        """The amount that empties the debited account or fills the credited one, or one more."""
        room = self.model.room(command, edge)
        self.check_post(replace(command, amount_minor=max(1, room + past)))

    def check_post(self, command: LedgerCommand) -> None:
        before = self.snapshot()
        result = self.book.post(command, f"t-{next(self.ids)}", NOW)
        verdict = result.code if isinstance(result, Rejection) else COMMITTED
        assert verdict in self.model.verdicts(command), (command, result)
        if isinstance(result, Rejection):
            assert self.snapshot() == before, "a rejected command changed a balance"
            return
        self.model.apply(command)
        self.record(result)
        assert (result.kind, result.currency, result.amount_minor) == (
            type(command).__name__.lower(), command.currency, command.amount_minor)
        assert [p.account_id for p in result.postings] == list(legs(command))

    def record(self, transaction: Transaction) -> None:
        """Journals the postings; each one's balance_after must be its account's running sum."""
        assert sum(p.amount_minor for p in transaction.postings) == 0, transaction
        for posting in transaction.postings:
            key = (posting.account_id, transaction.currency)
            self.entry_sums[key] += posting.amount_minor
            assert posting.balance_after_minor == self.entry_sums[key], transaction
        self.journal.append(transaction)

    def snapshot(self) -> tuple[dict[BalanceKey, int], dict[BalanceKey, int]]:
        return {key: self.book.balance(*key) for key in KEYS}, dict(self.book.changed)

    @invariant()
    def money_is_conserved(self) -> None:
        for currency in CURRENCIES:
            users = sum(self.book.balance(user, currency) for user in USERS)
            deposits = self.book.balance(DEPOSITS_ACCOUNT, currency)
            payouts = self.book.balance(PAYOUTS_ACCOUNT, currency)
            assert users + deposits + payouts == 0, currency
            assert (-deposits, payouts) == (
                self.model.deposited[currency], self.model.paid_out[currency]), currency

    @invariant()
    def balances_are_the_models_and_never_negative(self) -> None:
        for user, currency in itertools.product(USERS, CURRENCIES):
            balance = self.book.balance(user, currency)
            assert balance == self.model.balance(user, currency), (user, currency)
            assert 0 <= balance <= BALANCE_MINOR_MAX, (user, currency)

    @invariant()
    def balances_are_credits_minus_debits(self) -> None:
        assert {key: self.book.balance(*key) for key in KEYS} == {
            key: self.entry_sums[key] for key in KEYS}

    @invariant()
    def changed_holds_the_latest_balance_of_every_posted_key(self) -> None:
        posted = {(p.account_id, t.currency) for t in self.journal for p in t.postings}
        assert set(self.book.changed) == posted
        assert all(self.book.balance(*key) == after for key, after in self.book.changed.items())


BookMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS_PER_EXAMPLE_MAX, deadline=None,
    derandomize=True, database=None)
test_the_book_keeps_the_ledgers_rules = BookMachine.TestCase
