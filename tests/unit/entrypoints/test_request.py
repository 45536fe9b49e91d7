"""entrypoints/request.py: an API Gateway v2 event, parsed and validated field by field."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wallet.config import Config
from wallet.domain.access import Principal
from wallet.domain.commands import HOLD_EXPIRY_DEFAULT_S
from wallet.domain.errors import (
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from wallet.domain.money import Currency
from wallet.entrypoints.request import BODY_BYTES_MAX, JsonNumber, Request

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


# --- issue 12: labels, a hold's expiry, a capture's amount, and `at` ---------------------------


def labels_of(body: str, headers: dict[str, str] | None = None) -> tuple[object, object]:
    return request(body, JSON if headers is None else headers).labels()


def refused_labels(body: str, field: str, headers: dict[str, str] | None = None) -> None:
    with pytest.raises(ValidationError) as caught:
        labels_of(body, headers)
    assert caught.value.field == field


def test_a_json_number_is_text_yet_not_a_string() -> None:
    parsed = fields('{"a": 1.5, "b": 7, "c": NaN, "d": "7"}')
    assert parsed == {"a": "1.5", "b": "7", "c": "NaN", "d": "7"}
    assert [type(parsed[name]) for name in "abcd"] == [JsonNumber] * 3 + [str]


def test_labels_are_optional() -> None:
    assert labels_of('{"userId": "alice"}') == (None, ())


@pytest.mark.parametrize("name", ["reference", "metadata", "amount", "currency", "userId",
                                  "expiresInSeconds", "anything"])
def test_an_explicit_null_is_refused_naming_its_field(name: str) -> None:
    """A client's unset variable must never stand for "absent": a capture with
    `amount: null` would otherwise take the whole hold."""
    with pytest.raises(ValidationError) as refused:
        fields(json.dumps({"userId": "alice", name: None}))
    assert refused.value.field == name
    assert "null" in refused.value.message


def test_a_null_inside_metadata_is_refused_by_the_labels_rule() -> None:
    refused_labels('{"metadata": {"note": null}}', "metadata.note")


@pytest.mark.parametrize("escaped", ["\\udfff", "\\ud800", "\\u0000", "\\u001b",
                                     "\\u0085"])
def test_a_lone_surrogate_or_control_character_in_any_label_is_refused(escaped: str) -> None:
    refused_labels(f'{{"metadata": {{"note": "a{escaped}"}}}}', "metadata.note")
    refused_labels(f'{{"reference": "a{escaped}"}}', "reference")


@pytest.mark.parametrize("value", ["\x00", "a\udfff", "\n", "\x9f"])
def test_every_query_parameter_and_path_parameter_follows_the_text_rule(value: str) -> None:
    for name in ("metadata.x", "reference", "currency", "cursor", "anything"):
        with pytest.raises(ValidationError) as refused:
            _ = request(queryStringParameters={name: value}).query
        assert refused.value.field == name
    with pytest.raises(ValidationError) as named:
        _ = request(queryStringParameters={f"metadata.{value}": "x"}).query
    assert named.value.field == "query"
    with pytest.raises(ValidationError) as path:
        _ = request(pathParameters={"id": value}).path_parameters
    assert path.value.field == "id"


def test_text_query_parameters_are_read_as_sent() -> None:
    sent = {"metadata.x": "👩\u200d💻", "reference": "order 7"}
    assert dict(request(queryStringParameters=sent).query) == sent


def test_a_request_that_takes_no_fields_refuses_any() -> None:
    request("", JSON).no_fields()
    request("{}", JSON).no_fields()
    with pytest.raises(ValidationError) as refused:
        request('{"amount": "5"}', JSON).no_fields()
    assert refused.value.field == "amount"
    with pytest.raises(ValidationError):
        request("not json", JSON).no_fields()
    with pytest.raises(UnsupportedMediaType):
        request("<void/>", {"content-type": "text/xml"}).no_fields()


def test_labels_are_read_and_metadata_sorted_by_key() -> None:
    assert labels_of('{"reference": "order-7", "metadata": {"b": "2", "a": ""}}') == (
        "order-7", (("a", ""), ("b", "2")))


@pytest.mark.parametrize(("body", "field"), [
    ('{"metadata": {"order": 42}}', "metadata.order"),
    ('{"metadata": {"order": 4.2}}', "metadata.order"),
    ('{"metadata": {"order": true}}', "metadata.order"),
    ('{"metadata": {"order": null}}', "metadata.order"),
    ('{"metadata": {"order": ["a"]}}', "metadata.order"),
    ('{"metadata": {"order": {"a": "b"}}}', "metadata.order"),
    ('{"metadata": {"k": "' + "v" * 257 + '"}}', "metadata.k"),
    ('{"metadata": {"' + "k" * 41 + '": "v"}}', "metadata." + "k" * 40),
    ('{"metadata": {"bad key": "v"}}', "metadata.bad key"),
    ('{"metadata": {"": "v"}}', "metadata."),
    ('{"metadata": {' + ", ".join(f'"k{i}": "v"' for i in range(17)) + "}}", "metadata"),
    ('{"metadata": "a=b"}', "metadata"),
    ('{"metadata": ["a"]}', "metadata"),
    ('{"reference": ""}', "reference"),
    ('{"reference": "' + "r" * 129 + '"}', "reference"),
    ('{"reference": "line\\nbreak"}', "reference"),
    ('{"reference": 42}', "reference"),
])
def test_a_bad_label_is_refused_naming_the_field(body: str, field: str) -> None:
    refused_labels(body, field)


def test_labels_at_their_limits_are_accepted() -> None:
    metadata = {f"k{i}": "v" * 256 for i in range(16)} | {"K" * 40: ""}
    del metadata["k0"]
    body = json.dumps({"reference": "r" * 128, "metadata": metadata})
    reference, parsed = labels_of(body)
    assert reference == "r" * 128 and len(parsed) == 16  # type: ignore[arg-type]


def test_a_form_sends_metadata_as_dotted_fields() -> None:
    assert labels_of("reference=order-7&metadata.shop=north&metadata.order=42", FORM) == (
        "order-7", (("order", "42"), ("shop", "north")))


@pytest.mark.parametrize(("body", "field"), [
    ("metadata=shop", "metadata"),
    ("metadata.shop=north&metadata=x", "metadata"),
    ("metadata.bad%20key=v", "metadata.bad key"),
    ("metadata.k=" + "v" * 257, "metadata.k"),
])
def test_a_bad_form_label_is_refused_naming_the_field(body: str, field: str) -> None:
    refused_labels(body, field, FORM)


def test_a_dotted_name_in_json_is_no_metadata() -> None:
    assert labels_of('{"metadata.shop": "north"}') == (None, ())


@pytest.mark.parametrize(("body", "seconds"), [
    ("{}", HOLD_EXPIRY_DEFAULT_S), ('{"expiresInSeconds": 1}', 1),
    ('{"expiresInSeconds": "60"}', 60), ('{"expiresInSeconds": 2592000}', 2_592_000),
])
def test_expires_in_seconds_is_a_whole_number_up_to_30_days(body: str, seconds: int) -> None:
    assert request(body, JSON).expires_in_s() == seconds


@pytest.mark.parametrize("raw", ["0", "2592001", "1.5", "1e3", "-5", "true", '"x"', '""',
                                 '"\u00b2"', "[60]", "99999999999"])
def test_a_bad_expiry_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request(f'{{"expiresInSeconds": {raw}}}', JSON).expires_in_s()
    assert caught.value.field == "expiresInSeconds"


def test_a_form_expiry_is_read() -> None:
    assert request("expiresInSeconds=90", FORM).expires_in_s() == 90


@pytest.mark.parametrize(("body", "minor"), [
    ("{}", None), ('{"amount": "1.25"}', 125), ('{"amount": 1.25}', 125),
    ('{"amount": "3", "currency": "usd"}', 300),
])
def test_a_capture_amount_is_read_in_the_holds_currency(body: str, minor: int | None) -> None:
    assert request(body, JSON).amount_in(Currency("USD", 2)) == minor


def test_a_capture_amount_in_a_currency_with_no_minor_units() -> None:
    with pytest.raises(ValidationError) as caught:
        request('{"amount": "1.5"}', JSON).amount_in(Currency("JPY", 0))
    assert caught.value.field == "amount"


@pytest.mark.parametrize(("body", "field"), [
    ('{"amount": "0"}', "amount"), ('{"amount": "-1"}', "amount"),
    ('{"currency": "EUR"}', "currency"), ('{"amount": "1", "currency": "XXX"}', "currency"),
])
def test_a_bad_capture_amount_or_another_currency_is_refused(body: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        request(body, JSON).amount_in(Currency("USD", 2))
    assert caught.value.field == field


NOW_UTC = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


def at(raw: str | None) -> datetime | None:
    query = None if raw is None else {"at": raw}
    return request(queryStringParameters=query).at(NOW_UTC)


@pytest.mark.parametrize(("raw", "moment"), [
    (None, None),
    ("2026-11-25T10:00:00.123456Z", NOW_UTC),
    ("2026-11-25T09:00:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),  # no offset: UTC
    ("2026-11-25T11:00:00+02:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),
    ("2026-11-25T11:00:00 02:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),  # `+` as a space
    ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
    ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
])
def test_at_is_an_instant_in_utc(raw: str | None, moment: datetime | None) -> None:
    parsed = at(raw)
    assert parsed == moment
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", [
    "2026-11-25T10:00:00.123457Z",  # a microsecond in the future
    "2027-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:30:00+01:00",
    "0001-01-01T00:00:00+01:00", "yesterday", "", "2026-13-01T00:00:00Z",
])
def test_an_at_in_the_future_before_1970_or_unreadable_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        at(raw)
    assert caught.value.field == "at"


def test_a_user_id_sent_as_a_number_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        request('{"userId": 12}', JSON).user_id("userId")
    assert caught.value.field == "userId"
