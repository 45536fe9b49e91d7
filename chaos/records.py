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
MONEY_KINDS = ("deposit", "payout", "transfer", "capture")  # what posts journal entries
HOLD_KINDS = ("hold", "capture", "void")
HOLD_NOT_ACTIVE = "hold_not_active"  # 409: the hold was captured, voided or expired
AMOUNT_EXCEEDS_HOLD = "amount_exceeds_hold"  # 422: a capture larger than its hold
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the API's, UTC
HOLD_EXPIRY_DEFAULT_S = 7 * 86_400  # what a hold placed without expiresInSeconds gets
# The answer that acknowledges each kind (201 but for a void), and those that refuse it for
# good: a refusal is recorded as the command's outcome, so a replay answers it again.
ACKNOWLEDGING = {"void": 200}
REFUSING = {"capture": frozenset({409, 422}), "void": frozenset({409})}
MONEY_REFUSALS = frozenset({422})


@dataclass(frozen=True)
class Answer:
    status: int  # NO_ANSWER when there was none
    transaction_id: str | None = None
    replayed: bool = False  # the answer carried Idempotent-Replayed: true
    first_hand: bool = True  # a POST's own answer, not a lookup of its Location or id
    code: str | None = None  # a refusal's error code


@dataclass
class Operation:
    """One request, under its own Idempotency-Key, and everything it was answered.

    `transaction_id` is what the acknowledgement names: the transaction of a
    deposit, payout, transfer or capture, the hold a hold placed (its id is
    its command's), and nothing for a void, which answers with the hold.
    """

    key: str
    kind: str  # deposit | payout | transfer | hold | capture | void
    wallet: str  # the depositee, the payer, the sender, or the hold's owner
    currency: str
    amount_minor: int  # a capture's amount; for a void, the hold's
    counterparty: str | None = None  # a transfer's receiver
    answers: list[Answer] = field(default_factory=list)
    outcome: str = UNKNOWN
    transaction_id: str | None = None
    resolved_after_run: bool = False
    settled_at_s: float | None = None  # since the load began, when its outcome became known
    hold_id: str | None = None  # the hold a capture or void ends, or a placed hold's own
    expires_in_s: int | None = None  # a hold's expiresInSeconds; None: the default
    whole: bool = False  # a capture sent without an amount, which takes the whole hold
    as_operator: bool = False  # a hold, capture or void sent by an operator, not the owner
    command_id: str | None = None  # what a 202 named: where the outcome can be looked up
    # A write's labels, sent with it; a capture sends none, and its transaction carries its
    # hold's, which these are then.
    reference: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def acknowledging(self) -> int:
        return ACKNOWLEDGING.get(self.kind, 201)

    @property
    def refusing(self) -> frozenset[int]:
        return REFUSING.get(self.kind, MONEY_REFUSALS)

    def expected_entries(self) -> list[tuple[str, str]]:
        """(wallet, entry type) for each history entry an acknowledgement implies."""
        if self.kind == "transfer":
            assert self.counterparty is not None, "a transfer has a receiver"
            return [(self.wallet, "transfer_out"), (self.counterparty, "transfer_in")]
        return [(self.wallet, self.kind)] if self.kind in MONEY_KINDS else []


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
    """The books after the run, as the API, the websocket and the database tell them.

    `holds` is every hold of the run's wallets, whatever its status;
    `active_holds` is what `GET /wallet/holds?status=held` listed for each
    wallet, read on either side of its balance, so that the two agree even
    while holds expire (see observe.final_state). `read_at` is when those
    reads began (UTC, the API's format), to tell a hold that is merely due
    from one whose expiry never came.
    """

    exponents: Mapping[str, int]  # currency -> minor-unit digits
    balances: Mapping[tuple[str, str], int]  # (wallet, currency) -> minor units, from the API
    histories: Mapping[str, list[dict[str, Any]]]  # wallet -> items, oldest first
    events: list[dict[str, Any]] = field(default_factory=list)  # balance and hold updates
    journal: Journal | None = None
    held: Mapping[tuple[str, str], int] = field(default_factory=dict)  # heldBalances
    available: Mapping[tuple[str, str], int] = field(default_factory=dict)  # availableBalances
    holds: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # hold id -> Hold
    active_holds: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    read_at: str | None = None
    audit: Mapping[str, Any] | None = None  # GET /wallet/audit/verify's answer


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str


def minor(amount: str, currency: str, exponents: Mapping[str, int]) -> int:
    """A decimal string in minor units, exactly; a digit too many is a bug, not a rounding."""
    scaled = Decimal(amount).scaleb(exponents[currency])
    assert scaled == scaled.to_integral_value(), f"{amount} {currency} has too many digits"
    return int(scaled)
