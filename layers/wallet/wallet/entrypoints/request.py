"""An API Gateway HTTP API (payload v2) event, parsed and validated field by field.

Every accessor raises a ValidationError that names the offending field, so a
handler can read what it needs in one line each and never sees raw input.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from wallet.domain.access import USER_ID, Principal
from wallet.domain.commands import REQUEST_HASH
from wallet.domain.errors import (
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from wallet.domain.money import Currency, currency_of, parse_amount
from wallet.service_layer.ports import TokenCodec

BODY_BYTES_MAX = 64 * 1024
IDEMPOTENCY_KEY_LENGTH_MAX = 255
FORM_FIELDS_MAX = 100


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
        self.query: Mapping[str, str] = event.get("queryStringParameters") or {}
        self.path_parameters: Mapping[str, str] = event.get("pathParameters") or {}

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
    def fields(self) -> Mapping[str, Any]:
        return _parse_body(self._raw_body(), self.headers.get("content-type", ""))

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
    if not isinstance(raw, str) or not USER_ID.fullmatch(raw):
        raise ValidationError(f"{field} must be 1 to 64 of A-Z a-z 0-9 _ . @ -", field)
    return raw


def _parse_body(raw: bytes, content_type: str) -> Mapping[str, Any]:
    media_type = content_type.split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the body is not UTF-8", "body") from exc
    if media_type == "application/x-www-form-urlencoded" and not text.lstrip().startswith("{"):
        return _form(text)  # a form cannot start with `{`: that is JSON sent by `curl -d`
    if media_type in ("", "application/json", "application/x-www-form-urlencoded") \
            or media_type.endswith("+json"):
        return _json_object(text)
    raise UnsupportedMediaType("send application/json or application/x-www-form-urlencoded")


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        # Numbers stay text (parse_float/parse_constant), so no float ever holds an amount.
        value = json.loads(text or "{}", parse_float=str, parse_constant=str,
                           object_pairs_hook=_without_repeats)
    except (ValueError, RecursionError) as exc:
        raise ValidationError("the body is not valid JSON", "body") from exc
    if not isinstance(value, dict):
        raise ValidationError("the body must be a JSON object", "body")
    return value


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
