"""Who may read or move which wallet. Pure rules; the token check is an adapter."""

import re
from dataclasses import dataclass, field

from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    ExpireHold,
    LedgerCommand,
    Payout,
    PlaceHold,
    Transfer,
    VoidHold,
)
from wallet.domain.errors import Forbidden, NotFound
from wallet.domain.holds import UNKNOWN_HOLD

ROLES = frozenset({"user", "operator"})
USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # no `:`, so no user can name a system account


@dataclass(frozen=True)
class SocketLimits:
    """How many websockets one user (by `sub`), and one relay process, may hold open.

    Each open socket holds buffers and a file descriptor: without a cap one
    token can exhaust the process for everyone.
    """

    per_user_max: int = 16
    per_process_max: int = 10_000


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    # When the credential ends, not who it is: two tokens of one user are one principal.
    expires_at_epoch_s: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        assert self.role in ROLES, "token roles are validated before a principal exists"

    def expired(self, now_epoch_s: float) -> bool:
        """A principal with no expiry (one the process made itself) never expires."""
        return self.expires_at_epoch_s is not None and now_epoch_s >= self.expires_at_epoch_s

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def authorise_read(self, user_id: str | None) -> None:
        """None stands for every wallet at once, which only operators may read."""
        if not self.is_operator and user_id != self.subject:
            raise Forbidden("you may only read your own wallet")

    def authorise_audit(self) -> None:
        """Verifying the journal reads every wallet: operators only."""
        if not self.is_operator:
            raise Forbidden("only operators may verify the journal")

    def authorise(self, command: LedgerCommand) -> None:
        mine = self.is_operator or command.wallet_id == self.subject
        match command:
            case Deposit() | Payout():
                if not mine:
                    raise Forbidden("you may only move money in your own wallet", "userId")
            case Transfer():
                if command.from_user_id != self.subject:
                    raise Forbidden("you may only transfer out of your own wallet", "fromUserId")
            case PlaceHold():
                if not mine:
                    raise Forbidden("you may only hold money in your own wallet", "userId")
            case CaptureHold() | VoidHold():
                if not mine:
                    raise NotFound(UNKNOWN_HOLD)
            case ExpireHold():
                raise Forbidden("a hold expires by itself, never by request")
