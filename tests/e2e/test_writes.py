"""The three writes over real HTTP: shapes, money formatting and both body encodings."""

import httpx

from tests.e2e.server import auth, unique


def deposit(api: httpx.Client, user: str, amount: object, **extra: object) -> httpx.Response:
    return api.post("/wallet/deposit", json={"userId": user, "amount": amount, **extra},
                    headers=auth("ops", "operator"))


def test_deposit_answers_201_with_the_committed_transaction(api: httpx.Client) -> None:
    user = unique()
    response = deposit(api, user, "120.25")
    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "deposit" and body["status"] == "committed"
    assert (body["userId"], body["amount"], body["currency"]) == (user, "120.25", "USD")
    assert body["balanceAfter"] == "120.25"
    assert body["createdAt"].endswith("Z")
    assert response.headers["X-Request-Id"]


def test_form_encoded_body_is_accepted(api: httpx.Client) -> None:
    user = unique()
    response = api.post("/wallet/deposit", data={"userId": user, "amount": "7"},
                        headers=auth(user))
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "7.00"


def test_json_number_is_parsed_exactly(api: httpx.Client) -> None:
    user = unique()
    response = api.post("/wallet/deposit", content=f'{{"userId":"{user}","amount":0.1}}',
                        headers={**auth(user), "Content-Type": "application/json"})
    assert response.status_code == 201
    again = api.post("/wallet/deposit", content=f'{{"userId":"{user}","amount":0.2}}',
                     headers={**auth(user), "Content-Type": "application/json"})
    assert again.json()["balanceAfter"] == "0.30"


def test_currency_exponents_are_respected(api: httpx.Client) -> None:
    user = unique()
    assert deposit(api, user, "1500", currency="jpy").json()["amount"] == "1500"
    assert deposit(api, user, "1.5", currency="JPY").status_code == 400
    assert deposit(api, user, "1.234", currency="KWD").json()["amount"] == "1.234"


def test_payout_reduces_the_balance(api: httpx.Client) -> None:
    user = unique()
    deposit(api, user, "10.00")
    response = api.post("/wallet/payout", json={"userId": user, "amount": "2.50"},
                        headers=auth(user))
    assert response.status_code == 201
    assert response.json()["balanceAfter"] == "7.50"
    assert response.json()["type"] == "payout"


def test_transfer_moves_money_atomically(api: httpx.Client) -> None:
    alice, bob = unique("alice"), unique("bob")
    deposit(api, alice, "50")
    response = api.post("/wallet/transfer", headers=auth(alice),
                        json={"fromUserId": alice, "toUserId": bob, "amount": "20.01"})
    assert response.status_code == 201
    body = response.json()
    assert (body["fromUserId"], body["toUserId"], body["amount"]) == (alice, bob, "20.01")
    assert body["fromBalanceAfter"] == "29.99"
    assert "toBalanceAfter" not in body  # a user never sees another user's balance
    operator = auth("ops", "operator")
    assert api.get(f"/wallet/balance/{bob}", headers=operator).json()["balance"] == "20.01"
    assert api.get(f"/wallet/balance/{alice}", headers=operator).json()["balance"] == "29.99"


def test_overdraft_is_refused_and_changes_nothing(api: httpx.Client) -> None:
    alice, bob = unique(), unique()
    deposit(api, alice, "5")
    response = api.post("/wallet/transfer", headers=auth(alice),
                        json={"fromUserId": alice, "toUserId": bob, "amount": "5.01"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "insufficient_funds"
    operator = auth("ops", "operator")
    assert api.get(f"/wallet/balance/{alice}", headers=operator).json()["balance"] == "5.00"
    assert api.get(f"/wallet/history/{bob}", headers=operator).json()["items"] == []
