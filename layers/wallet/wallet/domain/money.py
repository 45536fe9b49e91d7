"""Money: integer minor units inside, decimal strings outside.

No float ever holds an amount. Text is checked against a strict grammar first,
then converted with integer arithmetic only, so `0.1 + 0.2` problems cannot
arise and a hidden exponent cannot smuggle in extra precision.
"""

import re
from dataclasses import dataclass

from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX

AMOUNT_TEXT_LENGTH_MAX = 40
_PLAIN_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_BOUND_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]*))?")


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int

    @property
    def scale(self) -> int:
        """Minor units per major unit: 100 for USD, 1 for JPY."""
        return int(10**self.exponent)


def currency_of(raw: object, field: str = "currency") -> Currency:
    """Resolves an ISO 4217 code, case-insensitively."""
    if not isinstance(raw, str) or not raw.isascii():
        raise ValidationError("currency must be an ISO 4217 code such as USD", field)
    code = raw.upper()
    exponent = MINOR_UNIT_EXPONENTS.get(code)
    if exponent is None:
        raise ValidationError(f"unknown currency {raw[:8]!r}; use an ISO 4217 code", field)
    return Currency(code, exponent)


def parse_amount(raw: object, currency: Currency, minor_max: int, field: str = "amount") -> int:
    """Parses a positive amount into minor units, refusing anything inexact or out of range."""
    text = _amount_text(raw, field)
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        raise ValidationError(
            "amount must be a plain positive decimal such as 120.25", field
        )
    whole, fraction = match.group(1), match.group(2) or ""
    fraction = fraction.rstrip("0")
    if len(fraction) > currency.exponent:
        raise ValidationError(
            f"amount has more than {currency.exponent} decimal places for {currency.code}", field
        )
    minor = int(whole) * currency.scale + int(fraction.ljust(currency.exponent, "0") or "0")
    if minor <= 0:
        raise ValidationError("amount must be greater than zero", field)
    if minor > minor_max:
        limit = format_minor(minor_max, currency)
        raise ValidationError(f"amount must not exceed {limit} {currency.code}", field)
    return minor


def parse_bound(
    text: str, currency: Currency, round_up: bool, field: str,
    bound_max: int = BALANCE_MINOR_MAX,
) -> int:
    """Parses a non-negative filter bound, rounding inward so a range never widens.

    Bounds are clamped to `bound_max`, since no stored amount exceeds it and a
    larger number would overflow the database's integer comparison.
    """
    match = _BOUND_DECIMAL.fullmatch(text) if len(text) <= AMOUNT_TEXT_LENGTH_MAX else None
    if match is None:
        raise ValidationError(f"{field} must be a non-negative decimal such as 10.50", field)
    whole, fraction = match.group(1), match.group(2) or ""
    scaled = int(whole + fraction) * currency.scale
    divisor = Currency(currency.code, len(fraction)).scale
    quotient, remainder = divmod(scaled, divisor)
    bound = quotient + 1 if round_up and remainder else quotient
    return min(bound, bound_max)


def format_minor(minor: int, currency: Currency) -> str:
    """Renders minor units as a decimal string with exactly the currency's digits."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), currency.scale)
    if currency.exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{currency.exponent}d}"


def _amount_text(raw: object, field: str) -> str:
    if isinstance(raw, bool) or raw is None:
        raise ValidationError("amount is required and must be a decimal string or number", field)
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValidationError("amount must be a decimal string or number", field)
    if len(raw) > AMOUNT_TEXT_LENGTH_MAX:
        raise ValidationError("amount is too long", field)
    if raw.startswith("-"):
        raise ValidationError("amount must be greater than zero", field)
    return raw
