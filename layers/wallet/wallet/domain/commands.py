"""Commands: what a caller asks the ledger to do, in the imperative.

Amounts are integer minor units; validation happened before a command exists,
so the ledger only ever sees well-formed, authorised requests.
"""

import hashlib
import re
from dataclasses import dataclass

from wallet.domain.errors import SameWallet

REQUEST_HASH = re.compile(r"[0-9a-f]{64}")  # what request_hash returns: SHA-256 in hex


@dataclass(frozen=True)
class _OneWallet:
    user_id: str
    amount_minor: int
    currency: str

    @property
    def wallet_id(self) -> str:
        return self.user_id


@dataclass(frozen=True)
class Deposit(_OneWallet):
    """Money enters the wallet from outside."""


@dataclass(frozen=True)
class Payout(_OneWallet):
    """Money leaves the wallet for the outside world."""


@dataclass(frozen=True)
class Transfer:
    from_user_id: str
    to_user_id: str
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        """Input, not a programmer error: a log record or a request may well ask it."""
        if self.from_user_id == self.to_user_id:
            raise SameWallet("a transfer needs two different wallets")

    @property
    def wallet_id(self) -> str:
        """The debited wallet keys the log, so debits on one wallet keep their order."""
        return self.from_user_id


LedgerCommand = Deposit | Payout | Transfer


@dataclass(frozen=True)
class Envelope:
    """A command as it travels the log: its id makes redelivery harmless."""

    command_id: str
    request_hash: str
    command: LedgerCommand
    # Which submission carried it: every copy of one request shares the id and the hash,
    # and only the copy whose attempt applied is the first answer; all others are replays.
    # Empty in records appended before attempts existed.
    attempt_id: str = ""


def request_hash(command: LedgerCommand) -> str:
    """Fingerprint of what was asked, to tell a retry from a reused key.

    `|` cannot occur in user ids or currency codes, so the join is unambiguous.
    """
    fields = [type(command).__name__, *(str(value) for value in vars(command).values())]
    return hashlib.sha256("|".join(fields).encode()).hexdigest()
