"""A model of the ledger's rules, for the property tests of the Book and of the batch apply.

It keeps what an auditor outside the wallet would keep: each wallet's balance
and, per currency, how much came in and how much went out. It decides a
command from those figures alone, in the words of the rules rather than in
the Book's floor-and-ceiling arithmetic, so a slip in the Book is not copied
here. The system accounts must then read -deposited and +paid out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import strategies as st
from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer
from wallet.domain.ledger import BALANCE_MINOR_MAX, BALANCE_MINOR_MIN, BalanceKey, legs

USERS = ("alice", "bob", "carol")  # three, so a transfer can go round a cycle
CURRENCIES = ("USD", "JPY")  # two, so a slip across currencies shows
DEPOSITED_MAX = -BALANCE_MINOR_MIN  # the deposits account owes the world at most 2**63
PAID_OUT_MAX = BALANCE_MINOR_MAX  # the payouts account is a balance like any other
COMMITTED = "committed"  # the verdict that is no refusal
LIMITS = ("empties", "fills")  # the two edges of a command: see LedgerModel.room

# Edge amounts weigh as much as ordinary ones: one minor unit, the largest balance, and
# small amounts that make balances meet exactly.
AMOUNTS = st.one_of(st.just(1), st.just(BALANCE_MINOR_MAX), st.integers(1, 1000),
                    st.integers(1, BALANCE_MINOR_MAX))


def commands(amounts: st.SearchStrategy[int] = AMOUNTS) -> st.SearchStrategy[LedgerCommand]:
    """Deposits, payouts and transfers between distinct USERS, in any of the CURRENCIES."""
    currencies = st.sampled_from(CURRENCIES)
    one_wallet = st.tuples(st.sampled_from(USERS), amounts, currencies)
    pairs = st.permutations(USERS).map(lambda users: (users[0], users[1]))
    return st.one_of(
        one_wallet.map(lambda drawn: Deposit(*drawn)),
        one_wallet.map(lambda drawn: Payout(*drawn)),
        st.tuples(pairs, amounts, currencies).map(
            lambda drawn: Transfer(drawn[0][0], drawn[0][1], drawn[1], drawn[2])))


@dataclass
class LedgerModel:
    """User balances, and per currency the money that came in and went out."""

    balances: dict[BalanceKey, int] = field(default_factory=lambda: defaultdict(int))
    deposited: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid_out: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def verdicts(self, command: LedgerCommand, system_shards: int = 1) -> frozenset[str]:
        """What the ledger may answer: COMMITTED or a rejection code.

        One answer, except where a system account is kept in shards: a batch
        checks only the shard it holds, so once the account's total would pass
        its limit, a shard with room may still commit.
        """
        refusal = self._refusal(command)
        if refusal is not None:
            return frozenset({refusal})
        if not self._system_limit_passed(command):
            return frozenset({COMMITTED})
        if system_shards == 1:
            return frozenset({"balance_limit_exceeded"})
        return frozenset({COMMITTED, "balance_limit_exceeded"})

    def apply(self, command: LedgerCommand) -> None:
        """Books a committed command."""
        currency, amount = command.currency, command.amount_minor
        match command:
            case Deposit():
                self.deposited[currency] += amount
                self.balances[command.user_id, currency] += amount
            case Payout():
                self.paid_out[currency] += amount
                self.balances[command.user_id, currency] -= amount
            case Transfer():
                self.balances[command.from_user_id, currency] -= amount
                self.balances[command.to_user_id, currency] += amount

    def room(self, command: LedgerCommand, edge: str) -> int:
        """How much the command may move before it "empties" its debited account or "fills"
        its credited one: the amount that meets that limit exactly."""
        assert edge in ("empties", "fills"), edge
        currency = command.currency
        match command, edge:
            case Deposit(), "empties":
                return DEPOSITED_MAX - self.deposited[currency]
            case Payout(), "fills":
                return PAID_OUT_MAX - self.paid_out[currency]
        debited, credited = legs(command)
        if edge == "empties":
            return self.balance(debited, currency)
        return BALANCE_MINOR_MAX - self.balance(credited, currency)

    def balance(self, user_id: str, currency: str) -> int:
        return self.balances.get((user_id, currency), 0)

    def _refusal(self, command: LedgerCommand) -> str | None:
        """A wallet cannot pay more than it holds, nor hold more than BALANCE_MINOR_MAX."""
        amount, currency = command.amount_minor, command.currency
        match command:
            case Deposit():
                if self.balance(command.user_id, currency) + amount > BALANCE_MINOR_MAX:
                    return "balance_limit_exceeded"
            case Payout():
                if amount > self.balance(command.user_id, currency):
                    return "insufficient_funds"
            case Transfer():
                if amount > self.balance(command.from_user_id, currency):
                    return "insufficient_funds"
                if self.balance(command.to_user_id, currency) + amount > BALANCE_MINOR_MAX:
                    return "balance_limit_exceeded"
        return None

    def _system_limit_passed(self, command: LedgerCommand) -> bool:
        amount, currency = command.amount_minor, command.currency
        match command:
            case Deposit():
                return self.deposited[currency] + amount > DEPOSITED_MAX
            case Payout():
                return self.paid_out[currency] + amount > PAID_OUT_MAX
        return False
