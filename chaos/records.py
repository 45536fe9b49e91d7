"""What the bank test records: each operation and its answers, and the books read at the end.

The clients fill in `Operation`s as they go; `observe` and the stacks read
the `FinalState` and the `Journal` after the run; `checker` judges them.
Only data lives here, so each of those modules can import it without the
others.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ACKNOWLEDGED, REJECTED, UNKNOWN = "acknowledged", "rejected", "unknown"
NO_ANSWER = 0  # a timeout or a dropped connection


@dataclass(frozen=True)
class Answer:
    status: int  # NO_ANSWER when there was none
    transaction_id: str | None = None
    replayed: bool = False  # the answer carried Idempotent-Replayed: true
    first_hand: bool = True  # a POST's own answer, not a lookup of its Location or id


@dataclass
class Operation:
    key: str
    kind: str  # deposit | payout | transfer
    wallet: str  # the depositee, the payer or the sender
    currency: str
    amount_minor: int
    counterparty: str | None = None  # a transfer's receiver
    answers: list[Answer] = field(default_factory=list)
    outcome: str = UNKNOWN
    transaction_id: str | None = None
    resolved_after_run: bool = False
    settled_at_s: float | None = None  # since the load began, when its outcome became known

    def expected_entries(self) -> list[tuple[str, str]]:
        """(wallet, entry type) for each history entry an acknowledgement implies."""
        if self.kind == "transfer":
            assert self.counterparty is not None, "a transfer has a receiver"
            return [(self.wallet, "transfer_out"), (self.counterparty, "transfer_in")]
        return [(self.wallet, self.kind)]


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    transaction_id: str
    account_id: str
    currency: str
    amount_minor: int  # signed: a credit is positive
    balance_after_minor: int


@dataclass(frozen=True)
class Journal:
    entries: list[JournalEntry]  # in seq order
    balances: Mapping[tuple[str, str], int]  # (account, currency) -> minor units
    committed_ids: set[str]


@dataclass
class FinalState:
    exponents: Mapping[str, int]  # currency -> minor-unit digits
    balances: Mapping[tuple[str, str], int]  # (wallet, currency) -> minor units, from the API
    histories: Mapping[str, list[dict[str, Any]]]  # wallet -> items, oldest first
    events: list[dict[str, Any]] = field(default_factory=list)  # balanceUpdated messages
    journal: Journal | None = None


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str


def minor(amount: str, currency: str, exponents: Mapping[str, int]) -> int:
    """A decimal string in minor units, exactly; a digit too many is a bug, not a rounding."""
    scaled = Decimal(amount).scaleb(exponents[currency])
    assert scaled == scaled.to_integral_value(), f"{amount} {currency} has too many digits"
    return int(scaled)
