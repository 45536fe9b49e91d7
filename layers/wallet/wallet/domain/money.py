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
_ASCII_DIGITS = re.compile(r"[0-9]+")
_BOUND_DECIMAL = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,20}))?")  # ASCII digits only


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


@dataclass(frozen=True)
class ExactDecimal:
    """A non-negative decimal exactly as written: `digits` / 10**`places`, never a float.

    Parsed once, at the edge; the service layer converts it per currency. Trailing
    zeros are dropped, so equal values are equal ("10.50" is "10.5").
    """

    digits: int
    places: int

    @classmethod
    def parse(cls, text: str) -> "ExactDecimal | None":
        """None for anything but plain digits with an optional fraction (`10`, `10.50`)."""
        match = _BOUND_DECIMAL.fullmatch(text)
        if match is None:
            return None
        whole, fraction = match.group(1), (match.group(2) or "").rstrip("0")
        return cls(int(whole + fraction), len(fraction))

    def minor_units(self, currency: Currency, round_up: bool,
                    minor_max: int = BALANCE_MINOR_MAX) -> int:
        """In this currency's minor units, rounded inward by the caller's choice of direction.

        Clamped to `minor_max`: no stored amount exceeds it, and a larger number
        would overflow the database's integer comparison.
        """
        quotient, remainder = divmod(self.digits * currency.scale, int(10**self.places))
        return min(quotient + 1 if round_up and remainder else quotient, minor_max)

    def __str__(self) -> str:
        whole, fraction = divmod(self.digits, int(10**self.places))
        return f"{whole}.{fraction:0{self.places}d}" if self.places else str(whole)


def whole_number(text: str, digits_max: int) -> int | None:
    """A whole number of at most `digits_max` ASCII digits; str.isdigit() also admits "²"."""
    return int(text) if _ASCII_DIGITS.fullmatch(text) and len(text) <= digits_max else None


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
