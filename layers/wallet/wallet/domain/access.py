"""Who may read or move which wallet. Pure rules; the token check is an adapter."""

import re
from dataclasses import dataclass

from wallet.domain.commands import Deposit, LedgerCommand, Payout, Transfer
from wallet.domain.errors import Forbidden

ROLES = frozenset({"user", "operator"})
USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # no `:`, so no user can name a system account


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str

    def __post_init__(self) -> None:
        assert self.role in ROLES, "token roles are validated before a principal exists"

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def authorise_read(self, user_id: str | None) -> None:
        """None stands for every wallet at once, which only operators may read."""
        if not self.is_operator and user_id != self.subject:
            raise Forbidden("you may only read your own wallet")

    def authorise(self, command: LedgerCommand) -> None:
        match command:
            case Deposit() | Payout():
                if not self.is_operator and command.user_id != self.subject:
                    raise Forbidden("you may only move money in your own wallet", "userId")
            case Transfer():
                if command.from_user_id != self.subject:
                    raise Forbidden("you may only transfer out of your own wallet", "fromUserId")
