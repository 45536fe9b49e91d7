"""Balance, history and transaction lookups, and who may read them."""

import base64

import httpx

from tests.e2e.server import auth, unique

OPERATOR = auth("ops", "operator")


def move(api: httpx.Client, path: str, **body: object) -> dict[str, object]:
    response = api.post(f"/wallet/{path}", json=body, headers=OPERATOR)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_balance_lists_every_currency(api: httpx.Client) -> None:
    user = unique()
    move(api, "deposit", userId=user, amount="3.10")
    move(api, "deposit", userId=user, amount="2", currency="EUR")
    body = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
    assert body == {"userId": user, "currency": "USD", "balance": "3.10", "available": "3.10",
                    "held": "0.00", "balances": {"EUR": "2.00", "USD": "3.10"},
                    "availableBalances": {"EUR": "2.00", "USD": "3.10"},
                    "heldBalances": {"EUR": "0.00", "USD": "0.00"}}
    eur = api.get(f"/wallet/balance/{user}?currency=EUR", headers=auth(user)).json()
    assert (eur["currency"], eur["balance"]) == ("EUR", "2.00")


def test_unknown_wallet_reads_as_zero(api: httpx.Client) -> None:
    user = unique()
    body = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
    assert (body["balance"], body["balances"]) == ("0.00", {})


def test_history_is_newest_first_with_every_field(api: httpx.Client) -> None:
    alice, bob = unique(), unique()
    move(api, "deposit", userId=alice, amount="10")
    move(api, "payout", userId=alice, amount="1")
    api.post("/wallet/deposit", json={"userId": bob, "amount": "4"}, headers=OPERATOR)
    api.post("/wallet/transfer", json={"fromUserId": bob, "toUserId": alice, "amount": "2"},
             headers=auth(bob))
    items = api.get(f"/wallet/history/{alice}", headers=auth(alice)).json()["items"]
    assert [i["type"] for i in items] == ["transfer_in", "payout", "deposit"]
    assert [i["balanceAfter"] for i in items] == ["11.00", "9.00", "10.00"]
    assert items[0]["counterparty"] == bob and "counterparty" not in items[1]
    assert set(items[0]) == {"id", "userId", "type", "amount", "currency", "balanceAfter", "status",
                             "createdAt", "counterparty"}


def test_history_pages_with_a_cursor_and_no_duplicates(api: httpx.Client) -> None:
    user = unique()
    for cents in range(1, 8):
        move(api, "deposit", userId=user, amount=f"0.0{cents}")
    seen, cursor = [], None
    for _ in range(10):
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/wallet/history/{user}", params=query, headers=auth(user)).json()
        seen += [item["amount"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"0.0{c}" for c in range(7, 0, -1)]


def test_history_filters_and_ascending_order(api: httpx.Client) -> None:
    user = unique()
    for amount in ("1", "5", "9"):
        move(api, "deposit", userId=user, amount=amount)
    move(api, "payout", userId=user, amount="2")
    move(api, "deposit", userId=user, amount="3", currency="EUR")
    history = f"/wallet/history/{user}"

    def amounts(**query: str) -> list[str]:
        page = api.get(history, params=query, headers=auth(user))
        assert page.status_code == 200, page.text
        return [i["amount"] for i in page.json()["items"]]

    assert amounts(type="deposit", currency="USD", order="asc") == ["1.00", "5.00", "9.00"]
    assert amounts(minAmount="2", maxAmount="5", order="asc") == ["5.00", "2.00", "3.00"]
    assert amounts(type="payout") == ["2.00"]
    assert amounts(currency="EUR") == ["3.00"]
    assert amounts(**{"from": "2000-01-01", "to": "2000-12-31"}) == []
    assert len(amounts(**{"from": "2000-01-01T00:00:00Z"})) == 5


def test_transaction_lookup_and_privacy(api: httpx.Client) -> None:
    alice, mallory = unique(), unique()
    created = move(api, "deposit", userId=alice, amount="1")
    own = api.get(f"/wallet/transactions/{created['id']}", headers=auth(alice))
    assert own.status_code == 200 and own.json() == created
    other = api.get(f"/wallet/transactions/{created['id']}", headers=auth(mallory))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"


def test_a_refused_write_is_replayed_with_its_key(api: httpx.Client) -> None:
    user = unique()
    refused = api.post("/wallet/payout", json={"userId": user, "amount": "1"},
                       headers={**auth(user), "Idempotency-Key": "k"})
    assert refused.status_code == 422
    replay = api.post("/wallet/payout", json={"userId": user, "amount": "1"},
                      headers={**auth(user), "Idempotency-Key": "k"})
    assert (replay.status_code, replay.json()) == (422, refused.json())


def test_operators_read_every_wallets_history_and_users_may_not(api: httpx.Client) -> None:
    alice, bob = unique("a"), unique("b")
    move(api, "deposit", userId=alice, amount="4.00")
    move(api, "deposit", userId=bob, amount="6.00")
    moved = api.post("/wallet/transfer", json={"fromUserId": alice, "toUserId": bob,
                                               "amount": "1.50"}, headers=auth(alice))
    assert moved.status_code == 201
    page = api.get("/wallet/history", params={"limit": "200"}, headers=OPERATOR).json()
    sides = {(item["userId"], item["type"]) for item in page["items"]
             if item["id"] == moved.json()["id"]}
    assert sides == {(alice, "transfer_out"), (bob, "transfer_in")}
    refused = api.get("/wallet/history", headers=auth(alice))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_history_sorts_by_amount_across_pages(api: httpx.Client) -> None:
    user = unique()
    for amount in ("5.00", "0.25", "12.00", "3.10", "7.77"):
        move(api, "deposit", userId=user, amount=amount)
    amounts, cursor = [], None
    for _ in range(10):
        params = {"sort": "amount", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/wallet/history/{user}", params=params, headers=auth(user)).json()
        amounts += [item["amount"] for item in page["items"]]
        assert all(item["userId"] == user for item in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert amounts == ["12.00", "7.77", "5.00", "3.10", "0.25"]


def test_a_cursor_works_only_for_the_caller_and_query_that_got_it(api: httpx.Client) -> None:
    alice, bob = unique(), unique()
    for cents in range(1, 4):
        move(api, "deposit", userId=alice, amount=f"0.0{cents}")
        move(api, "deposit", userId=bob, amount=f"0.0{cents}")
    page = api.get(f"/wallet/history/{alice}", params={"limit": "1"}, headers=auth(alice)).json()
    cursor = page["nextCursor"]
    assert api.get(f"/wallet/history/{alice}", params={"limit": "1", "cursor": cursor},
                   headers=auth(alice)).status_code == 200
    forged = base64.urlsafe_b64encode(b"s999999").decode().rstrip("=")
    attempts = [
        (f"/wallet/history/{alice}", {"cursor": forged}, auth(alice)),
        (f"/wallet/history/{bob}", {"cursor": cursor}, auth(bob)),
        (f"/wallet/history/{alice}", {"cursor": cursor, "sort": "amount"}, auth(alice)),
        (f"/wallet/history/{alice}", {"cursor": cursor, "type": "payout"}, auth(alice)),
        ("/wallet/history", {"cursor": cursor}, OPERATOR),
    ]
    for path, params, headers in attempts:
        response = api.get(path, params=params, headers=headers)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["error"]["field"] == "cursor"
