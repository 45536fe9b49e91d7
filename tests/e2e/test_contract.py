"""The OpenAPI document describes what the running server really answers.

Each exchange below is validated against the spec's schema for its path,
method and status, so a field added, renamed or dropped on either side fails.
"""

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.e2e.server import auth, unique

OPERATOR = auth("ops", "operator")


@pytest.fixture(scope="module")
def spec(server: Any) -> dict[str, Any]:
    with httpx.Client(base_url=server.url) as api:
        document: dict[str, Any] = api.get("/openapi.json").json()
    validate(document)
    return document


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> Any:
    response = spec["paths"][path][method]["responses"][str(status)]
    while "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def check(spec: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    schema = {**response_schema(spec, path, method, response.status_code),
              "components": spec["components"]}
    Draft202012Validator(schema).validate(response.json())
    assert response.headers["X-Request-Id"]


def test_every_documented_route_is_served(spec: dict[str, Any], api: httpx.Client) -> None:
    for path in spec["paths"]:
        if "{" in path or path == "/ws":
            continue
        assert api.get(path, headers=OPERATOR).status_code != 404, path


def test_write_responses_match_the_spec(spec: dict[str, Any], api: httpx.Client) -> None:
    alice, bob = unique(), unique()
    exchanges = [
        ("/wallet/deposit", {"userId": alice, "amount": "10"}),
        ("/wallet/payout", {"userId": alice, "amount": "1"}),
        ("/wallet/transfer", {"fromUserId": alice, "toUserId": bob, "amount": "2"}),
        ("/wallet/payout", {"userId": alice, "amount": "1000"}),
        ("/wallet/deposit", {"userId": alice, "amount": "-1"}),
    ]
    for path, body in exchanges:
        headers = auth(alice) if path == "/wallet/transfer" else OPERATOR
        check(spec, path, "post", api.post(path, json=body, headers=headers))
    check(spec, "/wallet/deposit", "post", api.post("/wallet/deposit", json={}))
    check(spec, "/wallet/transfer", "post", api.post(
        "/wallet/transfer", json={"fromUserId": bob, "toUserId": alice, "amount": "1"},
        headers=auth(alice)))


def test_read_responses_match_the_spec(spec: dict[str, Any], api: httpx.Client) -> None:
    user = unique()
    made = api.post("/wallet/deposit", json={"userId": user, "amount": "4"}, headers=OPERATOR)
    reads = [
        ("/wallet/balance/{userId}", f"/wallet/balance/{user}"),
        ("/wallet/history/{userId}", f"/wallet/history/{user}?limit=1"),
        ("/wallet/history/{userId}", f"/wallet/history/{user}?limit=0"),
        ("/wallet/transactions/{id}", f"/wallet/transactions/{made.json()['id']}"),
        ("/wallet/transactions/{id}", f"/wallet/transactions/{unique()}"),
        ("/wallet/currencies", "/wallet/currencies"),
        ("/healthz", "/healthz"),
    ]
    for template, url in reads:
        check(spec, template, "get", api.get(url, headers=OPERATOR))


def test_hold_and_label_responses_match_the_spec(spec: dict[str, Any],
                                                api: httpx.Client) -> None:
    user = unique()
    api.post("/wallet/deposit", json={"userId": user, "amount": "10", "reference": "r",
                                      "metadata": {"k": "v"}}, headers=OPERATOR)
    placed = api.post("/wallet/holds", json={"userId": user, "amount": "4", "reference": "r"},
                      headers=OPERATOR)
    check(spec, "/wallet/holds", "post", placed)
    hold_id = placed.json()["id"]
    check(spec, "/wallet/holds", "post", api.post(
        "/wallet/holds", json={"userId": user, "amount": "100"}, headers=OPERATOR))
    capturing = "/wallet/holds/{id}/capture"
    check(spec, capturing, "post", api.post(  # 422: more than the hold
        f"/wallet/holds/{hold_id}/capture", json={"amount": "5"}, headers=OPERATOR))
    captured = api.post(f"/wallet/holds/{hold_id}/capture", json={"amount": "1"},
                        headers=OPERATOR)
    check(spec, capturing, "post", captured)
    capture_id = captured.json()["transaction"]["id"]
    check(spec, capturing, "post", api.post(  # 409: captured already
        f"/wallet/holds/{hold_id}/capture", headers=OPERATOR))
    check(spec, "/wallet/holds/{id}/void", "post", api.post(
        f"/wallet/holds/{hold_id}/void", headers=OPERATOR))
    second = api.post("/wallet/holds", json={"userId": user, "amount": "1"}, headers=OPERATOR)
    check(spec, "/wallet/holds/{id}/void", "post", api.post(
        f"/wallet/holds/{second.json()['id']}/void", headers=OPERATOR))
    reads = [
        ("/wallet/holds/{id}", f"/wallet/holds/{hold_id}"),
        ("/wallet/holds/{id}", f"/wallet/holds/{unique()}"),
        ("/wallet/holds", f"/wallet/holds?userId={user}&limit=1"),
        ("/wallet/holds", "/wallet/holds?status=nope"),
        ("/wallet/transactions/{id}", f"/wallet/transactions/{hold_id}"),
        ("/wallet/transactions/{id}", f"/wallet/transactions/{capture_id}"),
        ("/wallet/balance/{userId}", f"/wallet/balance/{user}?at=2026-01-01T00:00:00Z"),
        ("/wallet/balance/{userId}", f"/wallet/balance/{user}?at=2999-01-01T00:00:00Z"),
        ("/wallet/history/{userId}", f"/wallet/history/{user}?reference=r"),
        ("/wallet/history/{userId}", f"/wallet/history/{user}?metadata.k=v&type=capture"),
        ("/wallet/audit/verify", f"/wallet/audit/verify?userId={user}"),
    ]
    for template, url in reads:
        check(spec, template, "get", api.get(url, headers=OPERATOR))
    check(spec, "/wallet/audit/verify", "get", api.get("/wallet/audit/verify",
                                                       headers=auth(user)))


def test_docs_page_is_readable_html(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    for path in ("/wallet/deposit", "/wallet/history/{userId}", "Idempotency-Key",
                 "/wallet/holds/{id}/capture", "/wallet/audit/verify", "hold_not_active"):
        assert path in page.text
