"""Commands: what a caller asks the ledger to do, in the imperative.

Amounts are integer minor units; validation happened before a command exists,
so the ledger only ever sees well-formed, authorised requests.
"""

import hashlib
import json
import re
import uuid
from dataclasses import MISSING, dataclass, fields

from wallet.domain.errors import SameWallet

REQUEST_HASH = re.compile(r"[0-9a-f]{64}")  # what request_hash returns: SHA-256 in hex

# A client's labels on a write: (key, value) pairs sorted by key, so equal labels are equal.
Metadata = tuple[tuple[str, str], ...]
REFERENCE_LENGTH_MAX = 128
METADATA_KEYS_MAX = 16
METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,40}")
METADATA_VALUE_LENGTH_MAX = 256

HOLD_EXPIRY_DEFAULT_S = 7 * 86_400
HOLD_EXPIRY_MAX_S = 30 * 86_400
_EXPIRY_NAMESPACE = uuid.UUID("1b6f6d0e-4f5e-4a38-9d1e-6c2b7a0f3c55")


@dataclass(frozen=True)
class _OneWallet:
    user_id: str
    amount_minor: int
    currency: str
    reference: str | None = None
    metadata: Metadata = ()

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
    reference: str | None = None
    metadata: Metadata = ()

    def __post_init__(self) -> None:
        """Input, not a programmer error: a log record or a request may well ask it."""
        if self.from_user_id == self.to_user_id:
            raise SameWallet("a transfer needs two different wallets")

    @property
    def wallet_id(self) -> str:
        """The debited wallet keys the log, so debits on one wallet keep their order."""
        return self.from_user_id


@dataclass(frozen=True)
class PlaceHold(_OneWallet):
    """Reserves money in the wallet: it stays in the balance but is no longer available."""

    expires_in_s: int = HOLD_EXPIRY_DEFAULT_S


@dataclass(frozen=True)
class _HoldChange:
    """A command on one hold. The gateway read the hold to build it, so it names the hold's
    wallet (which keys the log: a hold's commands keep their order with the wallet's) and
    its currency; the consumer checks both against the hold it loads."""

    hold_id: str
    user_id: str
    amount_minor: int  # a capture's amount; for a void or an expiry, the hold's amount
    currency: str

    @property
    def wallet_id(self) -> str:
        return self.user_id


@dataclass(frozen=True)
class CaptureHold(_HoldChange):
    """Moves `amount_minor` of the hold out of the wallet, as a payout, and releases the rest."""


@dataclass(frozen=True)
class VoidHold(_HoldChange):
    """Releases the whole hold."""


@dataclass(frozen=True)
class ExpireHold(_HoldChange):
    """Releases a hold past its expiry. Its id is the hold's own (`expiry_command_id`), so
    however many sweepers ask, and whether the consumer expired the hold first or not,
    a hold expires once."""


LedgerCommand = Deposit | Payout | Transfer | PlaceHold | CaptureHold | VoidHold | ExpireHold
HoldCommand = CaptureHold | VoidHold | ExpireHold

# What each command is called on the wire, in the store (`transactions.kind`) and in the API.
KINDS: dict[type, str] = {
    Deposit: "deposit", Payout: "payout", Transfer: "transfer", PlaceHold: "hold",
    CaptureHold: "capture", VoidHold: "void", ExpireHold: "expire",
}


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


def kind_of(command: LedgerCommand) -> str:
    return KINDS[type(command)]


def expiry_command_id(hold_id: str) -> str:
    """The one id every expiry of this hold carries."""
    return str(uuid.uuid5(_EXPIRY_NAMESPACE, hold_id))


def request_hash(command: LedgerCommand) -> str:
    """Fingerprint of what was asked, to tell a retry from a reused key.

    Required fields are joined as they always were (`|` cannot occur in user
    ids, hold ids or currency codes, so the join is unambiguous), so a retry of
    a request recorded before the optional fields existed still matches it.
    An optional field counts only when it is set, as `name=<JSON>`: no value
    can shift a boundary between fields.
    """
    parts = [type(command).__name__]
    for name, default in _HASHED_FIELDS[type(command)]:
        value = getattr(command, name)
        if default is MISSING:
            parts.append(str(value))
        elif value != default:
            parts.append(f"{name}={json.dumps(value, separators=(',', ':'))}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# Each command type's fields and defaults, read once: every request hashes its command.
_HASHED_FIELDS: dict[type, tuple[tuple[str, object], ...]] = {
    command_type: tuple((each.name, each.default) for each in fields(command_type))
    for command_type in KINDS}
