"""Balances as of an instant, on both configurations, at the boundaries of what happened.

An entry or a hold change made at `at` counts; one microsecond earlier it does not.
"""

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from tests.e2e.holds import OPERATOR, balance, error_of, placed, shifted, void
from tests.e2e.server import auth, unique

EPOCH = "1970-01-01T00:00:00.000000Z"


def as_of(api: httpx.Client, user: str, at: str) -> tuple[str, str, str]:
    read = balance(api, user, at=at)
    assert read["at"] == at
    return read["balance"], read["available"], read["held"]


def test_each_moment_counts_what_happened_by_then_and_nothing_after(api: httpx.Client) -> None:
    user = unique("then")

    def write(path: str, body: dict[str, str]) -> str:
        response = api.post(path, json=body, headers=OPERATOR)
        assert response.status_code == 201, response.text
        created: str = response.json()["createdAt"]
        return created

    first = write("/wallet/deposit", {"userId": user, "amount": "10"})
    second = write("/wallet/deposit", {"userId": user, "amount": "5"})
    held = placed(api, user, "3")
    third = write("/wallet/payout", {"userId": user, "amount": "2"})
    released = void(api, user, held["id"]).json()["updatedAt"]
    expected = [
        (shifted(first, -1), ("0.00", "0.00", "0.00")), (first, ("10.00", "10.00", "0.00")),
        (shifted(second, -1), ("10.00", "10.00", "0.00")), (second, ("15.00", "15.00", "0.00")),
        (shifted(held["createdAt"], -1), ("15.00", "15.00", "0.00")),
        (held["createdAt"], ("15.00", "12.00", "3.00")),
        (shifted(third, -1), ("15.00", "12.00", "3.00")), (third, ("13.00", "10.00", "3.00")),
        (shifted(released, -1), ("13.00", "10.00", "3.00")),
        (released, ("13.00", "13.00", "0.00")),
    ]
    for at, figures in expected:
        assert as_of(api, user, at) == figures, at
    assert balance(api, user)["balance"] == "13.00"


def test_every_currency_is_read_as_of_the_instant(api: httpx.Client) -> None:
    user = unique("then")
    usd = api.post("/wallet/deposit", json={"userId": user, "amount": "4"}, headers=OPERATOR)
    api.post("/wallet/deposit", json={"userId": user, "amount": "7", "currency": "JPY"},
             headers=OPERATOR)
    read = balance(api, user, at=usd.json()["createdAt"], currency="JPY")
    assert (read["currency"], read["balance"], read["available"]) == ("JPY", "0", "0")
    assert read["balances"]["USD"] == "4.00" and read["balances"].get("JPY", "0") == "0"
    assert balance(api, user, currency="JPY")["balance"] == "7"


def test_an_offset_or_no_offset_names_the_same_instant(api: httpx.Client) -> None:
    user = unique("then")
    made = api.post("/wallet/deposit", json={"userId": user, "amount": "4"}, headers=OPERATOR)
    created = datetime.strptime(made.json()["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    plus_two = created.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    for at in (plus_two.isoformat(), created.isoformat()):  # the second has no offset: UTC
        read = balance(api, user, at=at)
        assert (read["balance"], read["at"]) == ("4.00", made.json()["createdAt"]), at


@pytest.mark.parametrize("at", [
    (datetime.now(UTC) + timedelta(days=1)).isoformat(), "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "yesterday", "",
    "2026-02-30T00:00:00Z",
])
def test_an_instant_in_the_future_before_1970_or_unreadable_is_400(api: httpx.Client,
                                                                   at: str) -> None:
    user = unique("then")
    refused = api.get(f"/wallet/balance/{user}", params={"at": at}, headers=auth(user))
    assert error_of(refused) == (400, "validation_error", "at")


def test_the_epoch_itself_reads_an_empty_wallet(api: httpx.Client) -> None:
    user = unique("then")
    api.post("/wallet/deposit", json={"userId": user, "amount": "4"}, headers=OPERATOR)
    read = balance(api, user, at=EPOCH)
    assert (read["balance"], read["available"], read["held"]) == ("0.00", "0.00", "0.00")


def test_as_of_is_read_only_by_those_who_may_read_now(api: httpx.Client) -> None:
    user = unique("then")
    refused = api.get(f"/wallet/balance/{user}", params={"at": EPOCH}, headers=auth(unique()))
    assert error_of(refused)[:2] == (403, "forbidden")
