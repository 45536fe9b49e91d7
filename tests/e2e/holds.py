"""What the hold, label and point-in-time e2e tests share: money in, holds placed, reads."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.server import auth, unique

OPERATOR = auth("ops", "operator")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the API's, as docs/API.md gives it


def funded(api: httpx.Client, amount: str = "100.00", prefix: str = "holder") -> str:
    """A new wallet with `amount` USD in it."""
    user = unique(prefix)
    response = api.post("/wallet/deposit", json={"userId": user, "amount": amount},
                        headers=OPERATOR)
    assert response.status_code == 201, response.text
    return user


def place(api: httpx.Client, user: str, amount: str, headers: dict[str, str] | None = None,
          **fields: Any) -> httpx.Response:
    return api.post("/wallet/holds", json={"userId": user, "amount": amount, **fields},
                    headers=auth(user) if headers is None else headers)


def placed(api: httpx.Client, user: str, amount: str, **fields: Any) -> dict[str, Any]:
    response = place(api, user, amount, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def capture(api: httpx.Client, user: str, hold_id: str, **fields: Any) -> httpx.Response:
    return api.post(f"/wallet/holds/{hold_id}/capture", json=fields, headers=auth(user))


def void(api: httpx.Client, user: str, hold_id: str) -> httpx.Response:
    return api.post(f"/wallet/holds/{hold_id}/void", headers=auth(user))


def hold(api: httpx.Client, user: str, hold_id: str) -> dict[str, Any]:
    response = api.get(f"/wallet/holds/{hold_id}", headers=auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def balance(api: httpx.Client, user: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/wallet/balance/{user}", params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(api: httpx.Client, user: str) -> tuple[str, str, str]:
    """(balance, available, held) in USD."""
    read = balance(api, user)
    return read["balance"], read["available"], read["held"]


def error_of(response: httpx.Response) -> tuple[int, str, str | None]:
    """(status, code, field) of a refusal."""
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


def moment(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def shifted(text: str, microseconds: int) -> str:
    return (moment(text) + timedelta(microseconds=microseconds)).strftime(TIMESTAMP_FORMAT)
