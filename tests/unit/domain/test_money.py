"""domain/money.py: exact decimal text in, integer minor units inside, decimal text out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.domain.money import Currency, ExactDecimal, currency_of, format_minor, parse_amount

USD, JPY, KWD = currency_of("USD"), currency_of("JPY"), currency_of("KWD")
MINOR_MAX = 10**20


@pytest.mark.parametrize(
    ("raw", "currency", "minor"),
    [
        ("120.25", USD, 12025),
        (120, USD, 12000),
        ("0.5", USD, 50),
        ("1.50", USD, 150),
        ("0.01", USD, 1),
        ("7", USD, 700),
        ("1000", JPY, 1000),
        (5, JPY, 5),
        ("1.234", KWD, 1234),
        ("0.001", KWD, 1),
        ("2.5", KWD, 2500),
    ],
)
def test_parse_amount_accepts_plain_decimals(raw: object, currency, minor: int) -> None:
    assert parse_amount(raw, currency, MINOR_MAX) == minor


@pytest.mark.parametrize(
    "raw",
    [
        "1.234", "0", "0.00", "-1", "-0.5", "+1", "1e2", "1E-2", "NaN", "nan", "Infinity",
        "-Infinity", "abc", "", " 1", "1 ", "01", "00.5", ".5", "1.", "1,50", "1_000", "0x10",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to the grammar
        True, False, None, 1.5, 2.0, 0, -5, ["1"], {"amount": "1"},
        "0." + "1" + "0" * 38,  # 41 characters: refused for its length alone
    ],
)
def test_parse_amount_rejects_anything_but_a_plain_positive_decimal(raw: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount(raw, USD, MINOR_MAX)
    assert caught.value.field == "amount"


def test_parse_amount_accepts_forty_characters() -> None:
    assert parse_amount("0.1" + "0" * 37, USD, MINOR_MAX) == 10


@pytest.mark.parametrize(("raw", "currency"), [("1.5", JPY), ("1.2345", KWD), ("0.001", USD)])
def test_parse_amount_refuses_more_digits_than_the_currency_has(raw: str, currency) -> None:
    with pytest.raises(ValidationError, match=currency.code):
        parse_amount(raw, currency, MINOR_MAX)


def test_parse_amount_accepts_exactly_the_maximum() -> None:
    assert parse_amount("10.00", USD, 1000) == 1000


@pytest.mark.parametrize("raw", ["10.01", "11", 11, "1000000000000"])
def test_parse_amount_refuses_amounts_over_the_maximum(raw: object) -> None:
    with pytest.raises(ValidationError, match=r"exceed 10\.00 USD") as caught:
        parse_amount(raw, USD, 1000)
    assert caught.value.field == "amount"


def test_parse_amount_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount("x", USD, MINOR_MAX, field="price")
    assert caught.value.field == "price"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (12025, USD, "120.25"),
        (5, USD, "0.05"),
        (-5, USD, "-0.05"),
        (-12025, USD, "-120.25"),
        (0, USD, "0.00"),
        (1000, JPY, "1000"),
        (-7, JPY, "-7"),
        (0, JPY, "0"),
        (1234, KWD, "1.234"),
        (5, KWD, "0.005"),
        (-1, KWD, "-0.001"),
        (0, KWD, "0.000"),
    ],
)
def test_format_minor_renders_exactly_the_currency_digits(minor: int, currency, text: str) -> None:
    assert format_minor(minor, currency) == text


@pytest.mark.parametrize("minor", [1, 99, 100, 12345, 2**63 - 1])
@pytest.mark.parametrize("currency", [USD, JPY, KWD])
def test_format_then_parse_round_trips(minor: int, currency) -> None:
    assert parse_amount(format_minor(minor, currency), currency, 2**63 - 1) == minor


@pytest.mark.parametrize(
    ("text", "currency", "low", "high"),
    [
        ("10.555", USD, 1056, 1055),
        ("10.55", USD, 1055, 1055),
        ("10.550000", USD, 1055, 1055),
        ("0.001", USD, 1, 0),
        ("10", USD, 1000, 1000),
        ("0", USD, 0, 0),
        ("10.5", JPY, 11, 10),
        ("10", JPY, 10, 10),
        ("1.2345", KWD, 1235, 1234),
    ],
)
def test_a_bound_converts_per_currency_rounding_min_up_and_max_down(
        text: str, currency, low: int, high: int) -> None:
    value = ExactDecimal.parse(text)
    assert value is not None
    assert value.minor_units(currency, round_up=True) == low
    assert value.minor_units(currency, round_up=False) == high


def test_an_exact_decimal_is_its_value_whatever_its_trailing_zeros() -> None:
    assert ExactDecimal.parse("10.50") == ExactDecimal.parse("10.5") == ExactDecimal(105, 1)
    assert str(ExactDecimal.parse("0010.50")) == "10.5"


def test_a_bound_no_store_could_compare_is_clamped() -> None:
    value = ExactDecimal.parse("9" * 20)
    assert value is not None and value.minor_units(KWD, round_up=True) == BALANCE_MINOR_MAX


@pytest.mark.parametrize("text", ["-1", "abc", "1e2", "", ".5", "1.", " 1", "1" * 21, "٣"])
def test_text_that_is_no_plain_decimal_is_no_exact_decimal(text: str) -> None:
    assert ExactDecimal.parse(text) is None


@pytest.mark.parametrize(
    ("raw", "code", "exponent", "scale"),
    [("USD", "USD", 2, 100), ("usd", "USD", 2, 100), ("Jpy", "JPY", 0, 1),
     ("kwd", "KWD", 3, 1000), ("eur", "EUR", 2, 100)],
)
def test_currency_of_resolves_codes_case_insensitively(
    raw: str, code: str, exponent: int, scale: int
) -> None:
    currency = currency_of(raw)
    assert (currency.code, currency.exponent, currency.scale) == (code, exponent, scale)


@pytest.mark.parametrize(
    "raw", ["XXX", "XAU", "US", "USDD", "", " USD", "\uff35\uff33\uff24", None, 840, b"USD"]
)
def test_currency_of_rejects_unknown_or_non_string_codes(raw: object) -> None:
    with pytest.raises(ValidationError) as caught:
        currency_of(raw)
    assert caught.value.field == "currency"


def test_currency_of_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationError) as caught:
        currency_of("nope", field="WALLET_DEFAULT_CURRENCY")
    assert caught.value.field == "WALLET_DEFAULT_CURRENCY"


# --- properties: every currency's exponent, every amount a balance can hold ------------------

ROUND_TRIP_EXAMPLES = 300
CURRENCIES = st.sampled_from(sorted(MINOR_UNIT_EXPONENTS)).map(currency_of)
MINOR_AMOUNTS = st.one_of(st.just(1), st.just(BALANCE_MINOR_MAX), st.integers(1, 10**6),
                          st.integers(1, BALANCE_MINOR_MAX))
round_trips = settings(max_examples=ROUND_TRIP_EXAMPLES, deadline=None, derandomize=True,
                       database=None)


@round_trips
@given(currency=CURRENCIES, minor=MINOR_AMOUNTS)
def test_formatting_then_parsing_gives_back_every_minor_unit(currency: Currency,
                                                            minor: int) -> None:
    text = format_minor(minor, currency)
    assert parse_amount(text, currency, BALANCE_MINOR_MAX) == minor
    whole, _, fraction = text.partition(".")
    assert len(fraction) == currency.exponent, "exactly the currency's digits, no fewer"
    assert int(whole + fraction) == minor, "the digits are the minor units"
    assert format_minor(-minor, currency) == f"-{text}"


@round_trips
@given(currency=CURRENCIES, minor=MINOR_AMOUNTS, padding=st.integers(0, 3))
def test_parsing_then_formatting_gives_back_the_amount_as_written(
        currency: Currency, minor: int, padding: int) -> None:
    """Any spelling of an amount (trailing zeros, a whole number) parses to the same minor units."""
    whole, fraction = divmod(minor, currency.scale)
    digits = f"{fraction:0{currency.exponent}d}".rstrip("0") if currency.exponent else ""
    written = f"{whole}.{digits}{'0' * padding}" if digits or padding else str(whole)
    parsed = parse_amount(written, currency, BALANCE_MINOR_MAX)
    assert parsed == minor, written
    assert Decimal(format_minor(parsed, currency)) == Decimal(written), "the value as written"
    if fraction == 0:
        assert parse_amount(whole, currency, BALANCE_MINOR_MAX) == minor, "a JSON number"


@round_trips
@given(currency=CURRENCIES, minor=MINOR_AMOUNTS, extra=st.integers(1, 9))
def test_a_digit_past_the_currency_exponent_is_refused(
        currency: Currency, minor: int, extra: int) -> None:
    text = format_minor(minor, currency)
    inexact = f"{text}{extra}" if currency.exponent else f"{text}.{extra}"
    with pytest.raises(ValidationError, match=currency.code):
        parse_amount(inexact, currency, BALANCE_MINOR_MAX)


@round_trips
@given(digits=st.integers(0, 10**20 - 1), places=st.integers(0, 20))
def test_an_exact_decimal_survives_its_own_text(digits: int, places: int) -> None:
    value = ExactDecimal.parse(str(ExactDecimal(digits, places)))
    assert value is not None
    assert value.digits * 10**places == digits * 10**value.places, "the same number"
