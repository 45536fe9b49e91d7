"""Every error code of the contract, each reached through real HTTP."""

import httpx
import pytest

from tests.e2e.server import auth, token, unique

OPERATOR = auth("ops", "operator")


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error: dict[str, str] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "1"}, "userId"),
    ({"userId": "a b", "amount": "1"}, "userId"),
    ({"userId": "x" * 65, "amount": "1"}, "userId"),
    ({"userId": "u"}, "amount"),
    ({"userId": "u", "amount": "-1"}, "amount"),
    ({"userId": "u", "amount": "0"}, "amount"),
    ({"userId": "u", "amount": "1.001"}, "amount"),
    ({"userId": "u", "amount": "1e3"}, "amount"),
    ({"userId": "u", "amount": "NaN"}, "amount"),
    ({"userId": "u", "amount": "Infinity"}, "amount"),
    ({"userId": "u", "amount": "ten"}, "amount"),
    ({"userId": "u", "amount": True}, "amount"),
    ({"userId": "u", "amount": [1]}, "amount"),
    ({"userId": "u", "amount": "1000000000.01"}, "amount"),
    ({"userId": "u", "amount": "1", "currency": "XYZ"}, "currency"),
    ({"userId": "u", "amount": "1", "currency": 840}, "currency"),
])
def test_bad_deposit_fields_are_400_with_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    error = error_of(api.post("/wallet/deposit", json=body, headers=OPERATOR),
                     400, "validation_error")
    assert error["field"] == field


@pytest.mark.parametrize("raw", [
    '{"userId":"u","amount":NaN}', '{"userId":"u","amount":Infinity}',
    '{"userId":"u","amount":1E400}', '{"userId":"u","amount":-0.0}', "{", "[]", '"x"',
])
def test_malformed_json_is_400(api: httpx.Client, raw: str) -> None:
    response = api.post("/wallet/deposit", content=raw,
                        headers={**OPERATOR, "Content-Type": "application/json"})
    error_of(response, 400, "validation_error")


def test_transfer_to_self_is_400(api: httpx.Client) -> None:
    user = unique()
    response = api.post("/wallet/transfer", headers=auth(user),
                        json={"fromUserId": user, "toUserId": user, "amount": "1"})
    assert error_of(response, 400, "validation_error")["field"] == "toUserId"


@pytest.mark.parametrize("query", [
    "limit=0", "limit=201", "limit=x", "order=sideways", "type=refund", "cursor=%%%",
    "cursor=bm9wZQ", "from=yesterday", "minAmount=-1", "currency=ABC",
])
def test_bad_history_queries_are_400(api: httpx.Client, query: str) -> None:
    response = api.get(f"/wallet/history/ops?{query}", headers=OPERATOR)
    error_of(response, 400, "validation_error")


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": f"Bearer {token('u', ttl_s=-10)}"},
    {"Authorization": f"Bearer {token('u', secret='another-secret-' + 'y' * 64)}"},
    {"Authorization": f"Bearer {token('u', algorithm='HS512')}"},
    {"Authorization": f"Bearer {token('u', role='admin')}"},
    {"Authorization": f"Bearer {token('u', role=None)}"},
])
def test_bad_credentials_are_401(api: httpx.Client, headers: dict[str, str]) -> None:
    error_of(api.get("/wallet/balance/u", headers=headers), 401, "unauthorized")


def test_unsigned_token_is_401(api: httpx.Client) -> None:
    import jwt

    unsigned = jwt.encode({"sub": "u", "role": "operator", "exp": 2**40}, None, algorithm="none")
    error_of(api.get("/wallet/balance/u", headers={"Authorization": f"Bearer {unsigned}"}),
             401, "unauthorized")


def test_users_cannot_touch_other_wallets(api: httpx.Client) -> None:
    mallory, victim = unique(), unique()
    headers = auth(mallory)
    for response in (
        api.get(f"/wallet/balance/{victim}", headers=headers),
        api.get(f"/wallet/history/{victim}", headers=headers),
        api.post("/wallet/deposit", json={"userId": victim, "amount": "1"}, headers=headers),
        api.post("/wallet/payout", json={"userId": victim, "amount": "1"}, headers=headers),
        api.post("/wallet/transfer", headers=headers,
                 json={"fromUserId": victim, "toUserId": mallory, "amount": "1"}),
    ):
        error_of(response, 403, "forbidden")


def test_unknown_transaction_and_route_are_404(api: httpx.Client) -> None:
    error_of(api.get(f"/wallet/transactions/{unique()}", headers=OPERATOR), 404, "not_found")
    error_of(api.get("/wallet/nothing-here", headers=OPERATOR), 404, "not_found")


def test_wrong_method_is_405(api: httpx.Client) -> None:
    response = api.get("/wallet/deposit", headers=OPERATOR)
    error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"


def test_reused_idempotency_key_is_409(api: httpx.Client) -> None:
    user, headers = unique(), {**OPERATOR, "Idempotency-Key": unique("key")}
    first = api.post("/wallet/deposit", json={"userId": user, "amount": "1"}, headers=headers)
    assert first.status_code == 201
    second = api.post("/wallet/deposit", json={"userId": user, "amount": "2"}, headers=headers)
    error_of(second, 409, "idempotency_key_reused")


def test_oversized_body_is_413(api: httpx.Client) -> None:
    response = api.post("/wallet/deposit", content=b"{" + b" " * 70_000 + b"}",
                        headers={**OPERATOR, "Content-Type": "application/json"})
    error_of(response, 413, "payload_too_large")


def test_unsupported_media_type_is_415(api: httpx.Client) -> None:
    response = api.post("/wallet/deposit", content=b"userId=u&amount=1",
                        headers={**OPERATOR, "Content-Type": "text/plain"})
    error_of(response, 415, "unsupported_media_type")


def test_insufficient_funds_is_422(api: httpx.Client) -> None:
    user = unique()
    response = api.post("/wallet/payout", json={"userId": user, "amount": "0.01"},
                        headers=auth(user))
    error_of(response, 422, "insufficient_funds")


def test_authentication_comes_before_validation(api: httpx.Client) -> None:
    for response in (
        api.get("/wallet/balance/not valid"),
        api.post("/wallet/deposit", content=b"{", headers={"Content-Type": "application/json"}),
        api.post("/wallet/deposit", content=b"x", headers={"Content-Type": "text/plain"}),
    ):
        error_of(response, 401, "unauthorized")


# --- issue 8: repeated names, and the calendar's edges ---------------------------------------


@pytest.mark.parametrize(("content", "content_type", "field"), [
    ('{"userId": "@U", "amount": "1", "amount": "1000"}', "application/json", "amount"),
    ("userId=@U&userId=@V&amount=1", "application/x-www-form-urlencoded", "userId"),
])
def test_a_repeated_field_is_400_naming_it(
        api: httpx.Client, content: str, content_type: str, field: str) -> None:
    user, other = unique(), unique()
    response = api.post("/wallet/deposit", headers={**OPERATOR, "Content-Type": content_type},
                        content=content.replace("@U", user).replace("@V", other))
    assert error_of(response, 400, "validation_error")["field"] == field
    for wallet in (user, other):
        balance = api.get(f"/wallet/balance/{wallet}", headers=OPERATOR).json()["balance"]
        assert balance == "0.00"


def test_two_idempotency_key_headers_are_400(api: httpx.Client) -> None:
    user = unique()
    headers = [*auth(user).items(), ("Idempotency-Key", "k-1"), ("Idempotency-Key", "k-2")]
    response = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                        headers=headers)
    error = error_of(response, 400, "validation_error")
    assert error["field"] == "Idempotency-Key" and "one" in error["message"]


@pytest.mark.parametrize("field", ["from", "to"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_date_time_beyond_the_calendar_is_400_naming_the_field(
        api: httpx.Client, field: str, moment: str) -> None:
    user = unique()
    response = api.get(f"/wallet/history/{user}", params={field: moment}, headers=auth(user))
    assert error_of(response, 400, "validation_error")["field"] == field


def test_the_calendars_last_day_is_a_valid_range(api: httpx.Client) -> None:
    user = unique()
    response = api.get(f"/wallet/history/{user}", headers=auth(user),
                       params={"from": "0001-01-01", "to": "9999-12-31"})
    assert response.status_code == 200, response.text
