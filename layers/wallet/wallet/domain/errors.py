"""Operating errors: named outcomes a caller can act on.

Each carries a stable `code`; only the HTTP edge turns a code into a status.
Programmer errors are assertions elsewhere, never one of these.
"""

from wallet.domain.rate_limits import Allowance


class WalletError(Exception):
    """Base of every operating error; `code` is the contract, `message` is for people."""

    code = "wallet_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(WalletError):
    code = "validation_error"


class SameWallet(ValidationError):
    """A transfer from a wallet to itself: no money would move, so it is no transfer."""


class Unauthorized(WalletError):
    code = "unauthorized"


class Forbidden(WalletError):
    code = "forbidden"


class NotFound(WalletError):
    code = "not_found"


class OutcomeUnknown(WalletError):
    """A 202's Location whose command no store records and no gateway awaits any more: it was
    lost before it was stored (a restart of the embedded log), or is waiting longer than
    gateways remember. A retry with the same Idempotency-Key is safe either way: it applies
    at most once, and answers the first outcome if there is one."""

    code = "outcome_unknown"


class MethodNotAllowed(WalletError):
    code = "method_not_allowed"


class IdempotencyKeyReused(WalletError):
    code = "idempotency_key_reused"


class PayloadTooLarge(WalletError):
    code = "payload_too_large"


class UnsupportedMediaType(WalletError):
    code = "unsupported_media_type"


class InsufficientFunds(WalletError):
    code = "insufficient_funds"


class BalanceLimitExceeded(WalletError):
    code = "balance_limit_exceeded"


class HoldNotActive(WalletError):
    """The hold was captured, voided or expired already: nothing is held to act on."""

    code = "hold_not_active"


class AmountExceedsHold(WalletError):
    code = "amount_exceeds_hold"


class UnprocessableCommand(WalletError):
    """The ledger failed to apply this one command (a bug, or input that slipped past every
    check): it was set aside in the dead letters for an operator, and nothing of it applied,
    so the rest of the ledger goes on."""

    code = "unprocessable_command"


class TooManyConnections(WalletError):
    """One client holds as many connections as it may: its own websockets, or its address's."""

    code = "too_many_connections"


class RateLimited(WalletError):
    """The caller's token bucket is empty; `allowance` says when to come back."""

    code = "rate_limited"

    def __init__(self, message: str, allowance: Allowance) -> None:
        super().__init__(message)
        self.allowance = allowance


class Unavailable(WalletError):
    code = "unavailable"


# What the HTTP edge answers by itself, before any handler sees the request.
class BadRequest(WalletError):
    """Not valid HTTP: a broken request line, header or chunked framing."""

    code = "bad_request"


class HeadersTooLarge(WalletError):
    code = "headers_too_large"


class RequestTimeout(WalletError):
    code = "request_timeout"


REJECTIONS: dict[str, type[WalletError]] = {
    error.code: error
    for error in (InsufficientFunds, BalanceLimitExceeded, IdempotencyKeyReused, HoldNotActive,
                  AmountExceedsHold, UnprocessableCommand)
}
"""The errors the ledger itself may answer with, by code, so a stored outcome can be rebuilt."""
