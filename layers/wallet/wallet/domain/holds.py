"""Holds: money reserved in a wallet, then captured, voided or expired.

A hold posts nothing to the journal while it is active: as with
TigerBeetle's pending transfers, the wallet's account keeps the money in its
balance and counts it as `held` beside it, so `available = balance - held`.
Every posting still sums to zero, and held money cannot be spent twice,
because everything that spends draws on `available`. Only a capture moves
money: a payout-like transaction that names its hold. Each change of `held`
is journaled apart (the store's hold entries), which is what lets a past
instant's `available` be read back.
"""

from dataclasses import dataclass
from datetime import datetime

from wallet.domain.commands import (
    Envelope,
    ExpireHold,
    Metadata,
    expiry_command_id,
    request_hash,
)

HOLD_STATUSES = ("held", "captured", "voided", "expired")
ACTIVE = "held"
UNKNOWN_HOLD = "no such hold"  # for an unknown id and another user's alike: ids reveal nothing


@dataclass(frozen=True)
class Hold:
    id: str
    user_id: str
    currency: str
    amount_minor: int
    status: str  # one of HOLD_STATUSES
    captured_minor: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime  # when the status last changed: its creation, until it ends
    reference: str | None = None
    metadata: Metadata = ()

    def __post_init__(self) -> None:
        assert self.status in HOLD_STATUSES, "a hold's status is one of HOLD_STATUSES"
        assert 0 <= self.captured_minor <= self.amount_minor, "a capture never exceeds its hold"

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def due(self, now: datetime) -> bool:
        """Active but past its expiry: the next command on its wallet expires it first."""
        return self.active and now >= self.expires_at


def expiry_envelope(hold: Hold) -> Envelope:
    """The expiry of a hold, whoever asks for it: the consumer, or a sweeper. One id per hold."""
    command = ExpireHold(hold.id, hold.user_id, hold.amount_minor, hold.currency)
    return Envelope(expiry_command_id(hold.id), request_hash(command), command)
