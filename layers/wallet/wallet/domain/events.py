"""Events: what the ledger did, in the past tense.

One is published per applied command, after the database commit, so anyone
who sees an event can read its effect from the store.
"""

from dataclasses import dataclass
from datetime import datetime

from wallet.domain.ledger import HoldChange, Rejection, Transaction


@dataclass(frozen=True)
class TransactionCommitted:
    command_id: str
    request_hash: str
    transaction: Transaction
    attempt_id: str = ""  # the submission that applied it; see Envelope.attempt_id


@dataclass(frozen=True)
class CommandRejected:
    command_id: str
    request_hash: str
    rejection: Rejection
    rejected_at: datetime
    wallet_id: str  # whose request it was: the only user who may look it up
    attempt_id: str = ""  # the submission that was decided; see Envelope.attempt_id


@dataclass(frozen=True)
class HoldUpdated:
    """A hold was placed, captured (`change.transaction` is the capture), voided or expired."""

    command_id: str
    request_hash: str
    change: HoldChange
    attempt_id: str = ""  # the submission that applied it; see Envelope.attempt_id


Outcome = TransactionCommitted | CommandRejected | HoldUpdated
