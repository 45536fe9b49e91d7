"""The HTTP API as deployed from template.yaml: every route through the emulator's API Gateway."""

import httpx

from tests.e2e.server import unique
from tests.emulator.conftest import Deployment


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def deposit(api: httpx.Client, emulator: Deployment, user: str, amount: str) -> httpx.Response:
    return api.post("/wallet/deposit", json={"userId": user, "amount": amount},
                    headers=bearer(emulator.token))


def test_the_written_file_holds_the_urls_and_an_operator_token(emulator: Deployment) -> None:
    assert emulator.api.startswith(f"http://localhost:{emulator.port}/_aws/execute-api/")
    assert emulator.websocket.startswith(f"ws://localhost:{emulator.port}/_aws/execute-api/")
    assert emulator.websocket.endswith("/prod")
    assert emulator.token.count(".") == 2


def test_a_deposit_commits_and_shows_in_the_balance(api: httpx.Client,
                                                    emulator: Deployment) -> None:
    user = unique()
    response = deposit(api, emulator, user, "120.25")
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["balanceAfter"]) == ("committed", "120.25")
    balance = api.get(f"/wallet/balance/{user}", headers=bearer(emulator.cli_token(user)))
    assert balance.status_code == 200, balance.text  # `wallet token` minted what it accepts
    assert balance.json()["balance"] == "120.25"


def test_a_payout_reduces_the_balance(api: httpx.Client, emulator: Deployment) -> None:
    user = unique()
    assert deposit(api, emulator, user, "10.00").status_code == 201
    response = api.post("/wallet/payout", json={"userId": user, "amount": "2.50"},
                        headers=bearer(emulator.token_for(user)))
    assert response.status_code == 201, response.text
    assert response.json()["balanceAfter"] == "7.50"


def test_a_payout_beyond_the_balance_is_refused(api: httpx.Client,
                                                emulator: Deployment) -> None:
    user = unique()
    response = api.post("/wallet/payout", json={"userId": user, "amount": "1.00"},
                        headers=bearer(emulator.token_for(user)))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "insufficient_funds"


def test_a_transfer_moves_money_between_wallets(api: httpx.Client,
                                                emulator: Deployment) -> None:
    alice, bob = unique(), unique()
    assert deposit(api, emulator, alice, "10").status_code == 201
    response = api.post("/wallet/transfer", json={"fromUserId": alice, "toUserId": bob,
                                                  "amount": "4"},
                        headers=bearer(emulator.token_for(alice)))
    assert response.status_code == 201, response.text
    balance = api.get(f"/wallet/balance/{bob}", headers=bearer(emulator.token_for(bob)))
    assert balance.json()["balance"] == "4.00"


def test_history_lists_a_wallets_transactions_newest_first(api: httpx.Client,
                                                           emulator: Deployment) -> None:
    user = unique()
    first = deposit(api, emulator, user, "1").json()["id"]
    second = deposit(api, emulator, user, "2").json()["id"]
    history = api.get(f"/wallet/history/{user}", headers=bearer(emulator.token_for(user)))
    assert history.status_code == 200, history.text
    assert [item["id"] for item in history.json()["items"]] == [second, first]


def test_the_operators_history_of_all_wallets_and_a_transaction_by_id(
        api: httpx.Client, emulator: Deployment) -> None:
    user = unique()
    created = deposit(api, emulator, user, "3").json()["id"]
    every = api.get("/wallet/history", headers=bearer(emulator.token))
    assert every.status_code == 200, every.text
    assert created in [item["id"] for item in every.json()["items"]]
    one = api.get(f"/wallet/transactions/{created}", headers=bearer(emulator.token))
    assert one.status_code == 200, one.text
    assert one.json()["id"] == created


def test_currencies_are_listed_and_a_user_cannot_read_another_wallet(
        api: httpx.Client, emulator: Deployment) -> None:
    currencies = api.get("/wallet/currencies", headers=bearer(emulator.token_for(unique())))
    assert currencies.status_code == 200, currencies.text
    other = api.get(f"/wallet/balance/{unique()}", headers=bearer(emulator.token_for(unique())))
    assert other.status_code == 403, other.text
