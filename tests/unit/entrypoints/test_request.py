"""entrypoints/request.py: an API Gateway v2 event, parsed and validated field by field."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from wallet.config import Config
from wallet.domain.access import Principal
from wallet.domain.errors import (
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from wallet.entrypoints.request import BODY_BYTES_MAX, Request

from ..fakes import ALICE, OPERATOR, bearer, container, rules

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def request(body: str | None = None, headers: dict[str, str] | None = None,
            **event: Any) -> Request:
    return Request({"body": body, "headers": headers or {}, **event}, rules())


def fields(body: str, headers: dict[str, str] | None = None, **event: Any) -> dict[str, Any]:
    return dict(request(body, JSON if headers is None else headers, **event).fields)


def test_json_numbers_are_kept_as_their_text() -> None:
    parsed = fields('{"userId": "alice", "amount": 1.10, "small": 1E-2}')
    assert parsed == {"userId": "alice", "amount": "1.10", "small": "1E-2"}


def test_a_json_number_amount_is_parsed_exactly() -> None:
    assert request('{"amount": 1.10}', JSON).money() == (110, "USD")
    assert request('{"amount": 120}', JSON).money() == (12000, "USD")
    assert request('{"amount": 0.30000000000000004, "currency": "KWD"}', JSON).fields[
        "amount"] == "0.30000000000000004"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e2", "-5", "0"])
def test_json_literals_that_are_not_plain_amounts_are_refused_by_money(literal: str) -> None:
    parsed = request(f'{{"amount": {literal}}}', JSON)
    with pytest.raises(ValidationError) as caught:
        parsed.money()
    assert caught.value.field == "amount"


def test_a_form_body_is_parsed() -> None:
    parsed = request("userId=alice&amount=1.10&currency=eur&note=a+b%21", FORM)
    assert dict(parsed.fields) == {"userId": "alice", "amount": "1.10", "currency": "eur",
                                   "note": "a b!"}
    assert parsed.money() == (110, "EUR")


def test_json_sent_with_the_form_content_type_is_read_as_json() -> None:
    """`curl -d '{...}'` sends JSON labelled as a form."""
    assert fields('  {"userId": "alice", "amount": 5}', FORM) == {"userId": "alice", "amount": "5"}


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
     "application/vnd.wallet+json"],
)
def test_json_content_types_and_none_at_all_read_json(content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert fields('{"userId": "alice"}', headers) == {"userId": "alice"}


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/xml"])
def test_other_media_types_are_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        fields('{"userId": "alice"}', {"content-type": content_type})


def test_an_empty_body_is_an_empty_object() -> None:
    assert fields("") == {}
    assert dict(Request({}, rules()).fields) == {}


def padded_json(size: int) -> str:
    head = '{"pad": "'
    return head + "x" * (size - len(head) - 2) + '"}'


def test_a_body_of_exactly_the_limit_is_read() -> None:
    body = padded_json(BODY_BYTES_MAX)
    assert len(body.encode()) == BODY_BYTES_MAX
    assert len(fields(body)["pad"]) == BODY_BYTES_MAX - 11


@pytest.mark.parametrize(
    "body",
    [padded_json(BODY_BYTES_MAX + 1),
     '{"pad": "' + "\u00e9" * (BODY_BYTES_MAX // 2) + '"}',  # under the limit in characters
     "x" * (BODY_BYTES_MAX * 2 + 1)],
)
def test_a_body_over_64_kib_is_too_large(body: str) -> None:
    with pytest.raises(PayloadTooLarge):
        fields(body)


def test_a_base64_body_over_the_limit_is_too_large() -> None:
    encoded = base64.b64encode(padded_json(BODY_BYTES_MAX + 1).encode()).decode()
    with pytest.raises(PayloadTooLarge):
        fields(encoded, isBase64Encoded=True)


def test_a_base64_body_is_decoded() -> None:
    encoded = base64.b64encode(b'{"amount": 2.50}').decode()
    assert fields(encoded, isBase64Encoded=True) == {"amount": "2.50"}


def test_a_base64_form_body_is_decoded() -> None:
    encoded = base64.b64encode(b"userId=alice").decode()
    assert fields(encoded, FORM, isBase64Encoded=True) == {"userId": "alice"}


@pytest.mark.parametrize(
    ("body", "event"),
    [
        ("{not json", {}),
        ('{"a": 1,}', {}),
        ("[" * 60_000, {}),  # nesting deep enough to hit the recursion limit
        ("not base64!", {"isBase64Encoded": True}),
        (base64.b64encode(b"\xff\xfe{}").decode(), {"isBase64Encoded": True}),
    ],
)
def test_a_body_that_cannot_be_read_is_a_validation_error(body: str, event: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        fields(body, **event)
    assert caught.value.field == "body"


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true"])
def test_a_body_must_be_a_json_object(body: str) -> None:
    with pytest.raises(ValidationError, match="object") as caught:
        fields(body)
    assert caught.value.field == "body"


@pytest.mark.parametrize("key", ["k", "order-42/retry:1", "x" * 255, "~!@#$%^&*() "])
def test_a_valid_idempotency_key_is_returned(key: str) -> None:
    assert request(headers={"Idempotency-Key": key}).idempotency_key == key


def test_no_idempotency_key_is_none() -> None:
    assert request().idempotency_key is None


@pytest.mark.parametrize("key", ["", "x" * 256, "cl\u00e9", "\u043a\u043b\u044e\u0447", "a\tb",
                                 "a\nb", "\x00"])
def test_a_bad_idempotency_key_is_a_validation_error(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request(headers={"idempotency-key": key}).idempotency_key  # noqa: B018
    assert caught.value.field == "Idempotency-Key"


def test_header_names_are_case_insensitive() -> None:
    assert request(headers={"IDEMPOTENCY-KEY": "k"}).idempotency_key == "k"


@pytest.mark.parametrize("principal", [ALICE, OPERATOR])
def test_a_bearer_token_gives_the_principal(principal: Principal) -> None:
    assert request(headers=bearer(principal)).principal == principal


def test_the_bearer_scheme_is_case_insensitive() -> None:
    token = bearer(ALICE)["Authorization"].split(" ", 1)[1]
    assert request(headers={"authorization": f"bearer {token}"}).principal == ALICE


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Bearer    ", "Basic YWxpY2U6cHc=",
                      "Token abc", "Bearer not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.x"]
)
def test_a_missing_or_malformed_authorization_is_unauthorized(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with pytest.raises(Unauthorized):
        request(headers=headers).principal  # noqa: B018


@pytest.mark.parametrize("user_id", ["alice", "a.b-c_d@example.com", "x" * 64, "0"])
def test_a_valid_user_id_is_returned(user_id: str) -> None:
    assert request(json.dumps({"userId": user_id}), JSON).user_id("userId") == user_id


@pytest.mark.parametrize("user_id", [None, "", "x" * 65, "system:deposits", "a b", "al|ice", 7,
                                     ["alice"]])
def test_a_bad_user_id_names_its_field(user_id: object) -> None:
    parsed = request(json.dumps({"toUserId": user_id}), JSON)
    with pytest.raises(ValidationError) as caught:
        parsed.user_id("toUserId")
    assert caught.value.field == "toUserId"


def test_the_path_user_id_is_validated() -> None:
    assert request(pathParameters={"userId": "alice"}).path_user_id() == "alice"
    with pytest.raises(ValidationError) as caught:
        request(pathParameters={"userId": "system:payouts"}).path_user_id()
    assert caught.value.field == "userId"


@pytest.mark.parametrize(("raw", "code"), [(None, "USD"), ("", "USD"), ("jpy", "JPY")])
def test_currency_defaults_to_the_configured_one(raw: str | None, code: str) -> None:
    assert request().currency(raw).code == code


def test_the_default_currency_comes_from_the_config() -> None:
    yen = container(config=Config.from_env({"WALLET_DEFAULT_CURRENCY": "JPY"}))
    parsed = Request({"body": '{"amount": "5"}'}, yen.request_rules)
    assert parsed.money() == (5, "JPY")


@pytest.mark.parametrize("raw", [840, "XXX", ["USD"]])
def test_a_bad_currency_is_a_validation_error(raw: object) -> None:
    with pytest.raises(ValidationError) as caught:
        request().currency(raw)
    assert caught.value.field == "currency"


def test_money_enforces_the_configured_maximum() -> None:
    assert request('{"amount": "1000000000"}', JSON).money() == (10**11, "USD")
    with pytest.raises(ValidationError) as caught:
        request('{"amount": "1000000000.01"}', JSON).money()
    assert caught.value.field == "amount"


def test_the_maximum_is_in_the_requested_currencys_units() -> None:
    assert request('{"amount": "1000000000", "currency": "JPY"}', JSON).money() == (
        10**9, "JPY")


# --- issue 8: a repeated name is refused, never silently resolved ----------------------------


@pytest.mark.parametrize(("body", "field"), [
    ('{"userId": "alice", "amount": "1", "amount": "1000"}', "amount"),
    ('{"userId": "alice", "userId": "bob", "amount": "1"}', "userId"),
    ('{"userId": "alice", "amount": "1", "meta": {"a": 1, "a": 2}}', "a"),
])
def test_a_json_object_with_a_repeated_key_is_refused_naming_it(body: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        fields(body)
    assert caught.value.field == field


@pytest.mark.parametrize(("body", "field"), [
    ("userId=alice&userId=bob&amount=1", "userId"),
    ("userId=alice&amount=1&amount=1000", "amount"),
])
def test_a_form_with_a_repeated_field_is_refused_naming_it(body: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        fields(body, FORM)
    assert caught.value.field == field


def test_two_idempotency_keys_joined_by_the_gateway_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        _ = request(headers={"Idempotency-Key": "key-1,key-2"}).idempotency_key
    assert caught.value.field == "Idempotency-Key"
    assert "one Idempotency-Key" in caught.value.message
