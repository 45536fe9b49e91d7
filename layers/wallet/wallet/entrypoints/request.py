"""An API Gateway HTTP API (payload v2) event, parsed and validated field by field.

Every accessor raises a ValidationError that names the offending field, so a
handler can read what it needs in one line each and never sees raw input.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from wallet.domain.access import USER_ID, Principal
from wallet.domain.commands import HOLD_EXPIRY_DEFAULT_S, HOLD_EXPIRY_MAX_S, REQUEST_HASH, Metadata
from wallet.domain.errors import (
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from wallet.domain.labels import valid_metadata, valid_reference
from wallet.domain.money import Currency, currency_of, parse_amount, whole_number
from wallet.domain.text import valid_text
from wallet.service_layer.ports import TokenCodec

BODY_BYTES_MAX = 64 * 1024
IDEMPOTENCY_KEY_LENGTH_MAX = 255
FORM_FIELDS_MAX = 100
METADATA_PREFIX = "metadata."  # a form's (and a query's) way to send metadata: metadata.<key>
EXPIRY_DIGITS_MAX = len(str(HOLD_EXPIRY_MAX_S))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JsonNumber(str):
    """A JSON number, kept as its text so no float ever holds it. A subclass, so that a
    field that must be a string (a user id, a metadata value) can tell it from one."""


@dataclass(frozen=True)
class Body:
    fields: Mapping[str, Any]
    form: bool  # a form sends metadata as metadata.<key> fields, JSON as an object


@dataclass(frozen=True)
class RequestRules:
    """What reading a request needs besides the event: who signed its token, which amounts
    are valid, and the key its history cursors are signed with. Nothing that moves money."""

    tokens: TokenCodec
    default_currency: Currency
    amount_minor_max: Callable[[Currency], int]
    cursor_key: bytes = field(repr=False)


class Request:
    def __init__(self, event: Mapping[str, Any], rules: RequestRules) -> None:
        self.event, self.rules = event, rules
        self.headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}

    @cached_property
    def query(self) -> Mapping[str, str]:
        """Every query parameter, each name and value text by the one rule (domain/text.py):
        a parameter no backend could compare is a 400, on every backend alike."""
        return _texts(self.event.get("queryStringParameters") or {})

    @cached_property
    def path_parameters(self) -> Mapping[str, str]:
        return _texts(self.event.get("pathParameters") or {})

    @cached_property
    def principal(self) -> Principal:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <token>")
        return self.rules.tokens.verify(token.strip())

    @property
    def source_address(self) -> str:
        """The client's address as API Gateway (or the local runtime, from the TCP peer) saw
        it; never a header, which any client could forge."""
        http = (self.event.get("requestContext") or {}).get("http") or {}
        return str(http.get("sourceIp") or "")

    @cached_property
    def idempotency_key(self) -> str | None:
        key: str | None = self.headers.get("idempotency-key")
        if key is None:
            return None
        if "," in key:  # API Gateway and the local runtime join repeated headers with commas
            raise ValidationError("send one Idempotency-Key; a key may not contain a comma",
                                  "Idempotency-Key")
        if not 0 < len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX or not key.isprintable() \
                or not key.isascii():
            raise ValidationError(
                "Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key")
        return key

    def request_fingerprint(self) -> str | None:
        """The `request` of a 202's Location: the one request whose outcome it may report."""
        raw = self.query.get("request")
        if raw is not None and not REQUEST_HASH.fullmatch(raw):
            raise ValidationError("request must be the fingerprint a Location carries", "request")
        return raw

    @cached_property
    def body(self) -> Body:
        return _parse_body(self._raw_body(), self.headers.get("content-type", ""))

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.body.fields

    def no_fields(self) -> None:
        """A route that takes no body still reads it: a body it cannot read, or a field it
        would ignore (a void's `amount`, say), is the client's mistake, said out loud."""
        for name in self.fields:
            raise ValidationError(f"{name[:64]} is not a field of this request; send no body",
                                  name[:64])

    def user_id(self, name: str) -> str:
        return valid_user_id(self.fields.get(name), name)

    def path_user_id(self) -> str:
        return valid_user_id(self.path_parameters.get("userId"), "userId")

    def currency(self, raw: object) -> Currency:
        if raw is None or raw == "":
            return self.rules.default_currency
        return currency_of(raw)

    def money(self) -> tuple[int, str]:
        """The body's (amount in minor units, currency code)."""
        currency = self.currency(self.fields.get("currency"))
        minor_max = self.rules.amount_minor_max(currency)
        return parse_amount(self.fields.get("amount"), currency, minor_max), currency.code

    def amount_in(self, currency: Currency) -> int | None:
        """The body's optional amount in a currency the request does not choose (a hold's);
        a `currency` field, if sent, must name that very currency."""
        sent = self.fields.get("currency")
        if sent is not None and sent != "" and self.currency(sent) != currency:
            raise ValidationError(f"currency must be the hold's, {currency.code}", "currency")
        raw = self.fields.get("amount")
        if raw is None:
            return None
        return parse_amount(raw, currency, self.rules.amount_minor_max(currency))

    def reference(self) -> str | None:
        raw = self.fields.get("reference")
        return None if raw is None else valid_reference(raw)

    def metadata(self) -> Metadata:
        """A JSON object, or in a form one `metadata.<key>` field per key."""
        raw = self.fields.get("metadata")
        if not self.body.form:
            return () if raw is None else valid_metadata(raw)
        dotted = {name.removeprefix(METADATA_PREFIX): value for name, value in self.fields.items()
                  if name.startswith(METADATA_PREFIX)}
        if raw is not None:
            raise ValidationError("a form sends metadata as metadata.<key>=<value> fields",
                                  "metadata")
        return valid_metadata(dotted)

    def labels(self) -> tuple[str | None, Metadata]:
        """(reference, metadata): what every write may carry."""
        return self.reference(), self.metadata()

    def expires_in_s(self) -> int:
        raw = self.fields.get("expiresInSeconds")
        if raw is None:
            return HOLD_EXPIRY_DEFAULT_S
        seconds = whole_number(raw, EXPIRY_DIGITS_MAX) if isinstance(raw, str) else None
        if seconds is None or not 1 <= seconds <= HOLD_EXPIRY_MAX_S:
            raise ValidationError(
                f"expiresInSeconds must be a whole number from 1 to {HOLD_EXPIRY_MAX_S}",
                "expiresInSeconds")
        return seconds

    def at(self, now: datetime) -> datetime | None:
        """The instant a balance is read as of: not after `now`, not before 1970."""
        moment = parse_moment(self.query.get("at"), "at")
        if moment is not None and not EPOCH <= moment <= now:
            raise ValidationError("at must be an instant from 1970-01-01T00:00:00Z to now",
                                  "at")
        return moment

    def _raw_body(self) -> bytes:
        body = self.event.get("body") or ""
        if len(body) > BODY_BYTES_MAX * 2:
            raise PayloadTooLarge(f"the body must be at most {BODY_BYTES_MAX} bytes")
        try:
            raw = base64.b64decode(body, validate=True) if self.event.get(
                "isBase64Encoded") else body.encode()
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("the body is not valid base64", "body") from exc
        if len(raw) > BODY_BYTES_MAX:
            raise PayloadTooLarge(f"the body must be at most {BODY_BYTES_MAX} bytes")
        return raw


def valid_user_id(raw: object, field: str) -> str:
    if type(raw) is not str or not USER_ID.fullmatch(raw):  # a JSON number is no user id
        raise ValidationError(f"{field} must be 1 to 64 of A-Z a-z 0-9 _ . @ -", field)
    return raw


def parse_moment(raw: str | None, field: str) -> datetime | None:
    """An ISO 8601 date-time (or date, at its midnight); no offset means UTC."""
    if raw is None:
        return None
    try:  # a query string's `+` arrives as a space
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise ValidationError(f"{field} must be an ISO 8601 date or date-time", field) from exc
    try:  # in UTC now, where the store compares: an offset may push it past year 1 or 9999
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValidationError(f"{field} must fall within the years 1 to 9999 in UTC",
                              field) from exc


def _parse_body(raw: bytes, content_type: str) -> Body:
    media_type = content_type.split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the body is not UTF-8", "body") from exc
    if media_type == "application/x-www-form-urlencoded" and not text.lstrip().startswith("{"):
        return Body(_form(text), True)  # a form cannot start with `{`: JSON sent by `curl -d`
    if media_type in ("", "application/json", "application/x-www-form-urlencoded") \
            or media_type.endswith("+json"):
        return Body(_json_object(text), False)
    raise UnsupportedMediaType("send application/json or application/x-www-form-urlencoded")


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        # Numbers stay text, so no float ever holds an amount, and stay apart from strings.
        value = json.loads(text or "{}", parse_float=JsonNumber, parse_int=JsonNumber,
                           parse_constant=JsonNumber, object_pairs_hook=_without_repeats)
    except (ValueError, RecursionError) as exc:
        raise ValidationError("the body is not valid JSON", "body") from exc
    if not isinstance(value, dict):
        raise ValidationError("the body must be a JSON object", "body")
    for name, field_value in value.items():
        if field_value is None:  # a client's unset variable must never mean "take it all"
            raise ValidationError(f"{name[:64]} may not be null: leave it out to mean absent",
                                  name[:64])
    return value


def _texts(parameters: Mapping[str, str]) -> Mapping[str, str]:
    for name, value in parameters.items():
        valid_text(name, "query")
        valid_text(value, name)
    return parameters


def _without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A repeated name is ambiguous (which userId is meant?): refuse it, never pick one."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ValidationError(f"{name[:64]} is given more than once", name[:64])
        found[name] = value
    return found


def _form(text: str) -> Mapping[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=FORM_FIELDS_MAX)
    except ValueError as exc:
        raise ValidationError("the form body is malformed", "body") from exc
    return _without_repeats(pairs)
