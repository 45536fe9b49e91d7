"""References and metadata over HTTP, on both configurations: carried, refused, found again.

Each test labels its writes with values of its own, so searches on the shared servers see
only them.
"""

from typing import Any

import httpx
import pytest

from tests.e2e.holds import OPERATOR, capture, error_of, funded, placed
from tests.e2e.server import auth, unique

LABELS = {"reference": "order-1", "metadata": {"shop": "north", "channel": "web"}}


def history(api: httpx.Client, path: str, headers: dict[str, str],
            **params: str) -> list[dict[str, Any]]:
    """Every item of a query, page by page along nextCursor (two to a page)."""
    items: list[dict[str, Any]] = []
    query: dict[str, str] = {**params, "limit": "2"}
    for _ in range(50):  # bounded: far more pages than any test writes
        page = api.get(path, params=query, headers=headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        if page.json()["nextCursor"] is None:
            return items
        query = {**params, "limit": "2", "cursor": page.json()["nextCursor"]}
    raise AssertionError("history never ended")


def test_every_write_carries_its_labels_back(api: httpx.Client) -> None:
    user, other = funded(api), unique()
    writes = [("/wallet/deposit", {"userId": user, "amount": "1"}),
              ("/wallet/payout", {"userId": user, "amount": "1"}),
              ("/wallet/transfer", {"fromUserId": user, "toUserId": other, "amount": "1"}),
              ("/wallet/holds", {"userId": user, "amount": "1"})]
    for path, body in writes:
        response = api.post(path, json={**body, **LABELS}, headers=auth(user))
        assert response.status_code == 201, response.text
        written = response.json()
        assert (written["reference"], written["metadata"]) == (
            LABELS["reference"], LABELS["metadata"]), path
        read = api.get(f"/wallet/transactions/{written['id']}", headers=auth(user)).json()
        assert read == written, path
    plain = api.post("/wallet/deposit", json={"userId": user, "amount": "1"}, headers=OPERATOR)
    assert "reference" not in plain.json() and "metadata" not in plain.json()


def test_history_items_carry_labels_on_both_sides_of_a_transfer(api: httpx.Client) -> None:
    sender, recipient, reference = funded(api), unique(), unique("rent")
    api.post("/wallet/transfer", json={"fromUserId": sender, "toUserId": recipient,
                                       "amount": "5", "reference": reference,
                                       "metadata": {"month": "11"}}, headers=auth(sender))
    for user in (sender, recipient):
        (item,) = history(api, f"/wallet/history/{user}", auth(user), reference=reference)
        assert (item["reference"], item["metadata"], item["userId"]) == (
            reference, {"month": "11"}, user)


@pytest.mark.parametrize(("fields", "field"), [
    ({"metadata": {"order": 42}}, "metadata.order"),
    ({"metadata": {"order": 4.2}}, "metadata.order"),
    ({"metadata": {"order": True}}, "metadata.order"),
    ({"metadata": {"order": None}}, "metadata.order"),
    ({"metadata": {"order": {"id": "1"}}}, "metadata.order"),
    ({"metadata": {"k": "v" * 257}}, "metadata.k"),
    ({"metadata": {"k" * 41: "v"}}, "metadata." + "k" * 40),
    ({"metadata": {"bad key": "v"}}, "metadata.bad key"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"metadata": ["v"]}, "metadata"),
    ({"reference": ""}, "reference"),
    ({"reference": "r" * 129}, "reference"),
    ({"reference": "line\nbreak"}, "reference"),
    ({"reference": 7}, "reference"),
])
@pytest.mark.parametrize("path", ["/wallet/deposit", "/wallet/holds"])
def test_a_bad_label_is_400_naming_the_field(api: httpx.Client, path: str,
                                             fields: dict[str, Any], field: str) -> None:
    user = unique()
    response = api.post(path, json={"userId": user, "amount": "1", **fields}, headers=OPERATOR)
    assert error_of(response) == (400, "validation_error", field), response.text


def test_labels_at_their_limits_are_accepted(api: httpx.Client) -> None:
    metadata = {f"{i:02d}" + "k" * 38: "v" * 256 for i in range(16)}
    response = api.post("/wallet/deposit", json={
        "userId": unique(), "amount": "1", "reference": "r" * 128, "metadata": metadata},
        headers=OPERATOR)
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == metadata


def test_a_form_sends_metadata_as_dotted_fields(api: httpx.Client) -> None:
    user = unique()
    form = {**auth(user), "Content-Type": "application/x-www-form-urlencoded"}
    made = api.post("/wallet/deposit", content=f"userId={user}&amount=1&reference=f-1"
                    "&metadata.shop=north&metadata.order=42", headers=form)
    assert made.status_code == 201, made.text
    assert made.json()["metadata"] == {"order": "42", "shop": "north"}
    bare = api.post("/wallet/deposit", content=f"userId={user}&amount=1&metadata=x",
                    headers=form)
    assert error_of(bare)[2] == "metadata"


def test_history_finds_a_reference_exactly_page_by_page(api: httpx.Client) -> None:
    user, reference = funded(api, "50"), unique("ref")
    ids = [api.post("/wallet/payout", json={"userId": user, "amount": str(n),
                                            "reference": reference}, headers=auth(user)
                    ).json()["id"] for n in (1, 2, 3)]
    api.post("/wallet/payout", json={"userId": user, "amount": "4",
                                     "reference": reference + "x"}, headers=auth(user))
    api.post("/wallet/payout", json={"userId": user, "amount": "5",
                                     "reference": reference.upper()}, headers=auth(user))
    found = history(api, f"/wallet/history/{user}", auth(user), reference=reference)
    assert [item["id"] for item in found] == ids[::-1]
    assert history(api, f"/wallet/history/{user}", auth(user), reference=reference,
                   order="asc") == found[::-1]


def test_history_finds_metadata_by_every_key_given(api: httpx.Client) -> None:
    user, shop = funded(api, "50"), unique("shop")
    made = {}
    for name, metadata in (("north-web", {"shop": shop, "channel": "web"}),
                           ("north-app", {"shop": shop, "channel": "app"}),
                           ("other", {"shop": shop + "-2", "channel": "web"})):
        made[name] = api.post("/wallet/payout", json={"userId": user, "amount": "1",
                                                      "metadata": metadata},
                              headers=auth(user)).json()["id"]
    path = f"/wallet/history/{user}"
    by_shop = history(api, path, auth(user), **{"metadata.shop": shop})
    assert [i["id"] for i in by_shop] == [made["north-app"], made["north-web"]]
    both = history(api, path, auth(user), **{"metadata.shop": shop, "metadata.channel": "web"})
    assert [i["id"] for i in both] == [made["north-web"]]
    assert history(api, path, auth(user), **{"metadata.shop": shop,
                                             "metadata.colour": "red"}) == []


def test_an_operator_finds_a_reference_across_wallets(api: httpx.Client) -> None:
    first, second, reference = unique(), unique(), unique("batch")
    for user in (first, second):
        api.post("/wallet/deposit", json={"userId": user, "amount": "1",
                                          "reference": reference}, headers=OPERATOR)
    found = history(api, "/wallet/history", OPERATOR, reference=reference)
    assert sorted(item["userId"] for item in found) == sorted([first, second])
    assert api.get("/wallet/history", params={"reference": reference},
                   headers=auth(first)).status_code == 403


def test_a_capture_is_found_by_its_holds_reference(api: httpx.Client) -> None:
    user, reference = funded(api), unique("order")
    held = placed(api, user, "10", reference=reference, metadata={"shop": "north"})
    captured = capture(api, user, held["id"], amount="6").json()["transaction"]
    (item,) = history(api, f"/wallet/history/{user}", auth(user), reference=reference)
    assert (item["id"], item["type"], item["holdId"], item["metadata"]) == (
        captured["id"], "capture", held["id"], {"shop": "north"})


def test_a_cursor_pages_only_the_labels_it_was_issued_for(api: httpx.Client) -> None:
    user, reference = funded(api), unique("ref")
    for n in (1, 2, 3):
        api.post("/wallet/payout", json={"userId": user, "amount": str(n),
                                         "reference": reference}, headers=auth(user))
    path = f"/wallet/history/{user}"
    cursor = api.get(path, params={"reference": reference, "limit": "1"},
                     headers=auth(user)).json()["nextCursor"]
    assert cursor is not None
    for params in ({"reference": reference + "x"}, {}, {"reference": reference,
                                                         "metadata.k": "v"}):
        refused = api.get(path, params={**params, "cursor": cursor}, headers=auth(user))
        assert error_of(refused)[2] == "cursor", params


@pytest.mark.parametrize(("params", "field"), [
    ({"reference": ""}, "reference"), ({"reference": "r" * 129}, "reference"),
    ({"metadata.k": "v" * 257}, "metadata.k"), ({"metadata.bad key": "v"}, "metadata.bad key"),
    ({"metadata": "k=v"}, "metadata"),
])
def test_a_label_filter_no_write_could_carry_is_400(api: httpx.Client, params: dict[str, str],
                                                    field: str) -> None:
    user = unique()
    refused = api.get(f"/wallet/history/{user}", params=params, headers=auth(user))
    assert error_of(refused) == (400, "validation_error", field)
