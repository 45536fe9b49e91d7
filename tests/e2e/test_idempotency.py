"""Idempotency-Key over HTTP: replays, conflicts, scoping and concurrent duplicates."""

import asyncio

import aiohttp
import httpx

from tests.e2e.server import Server, auth, unique

DUPLICATES = 40


def test_retry_replays_status_and_body_and_applies_once(api: httpx.Client) -> None:
    user = unique()
    headers = {**auth(user), "Idempotency-Key": unique("key")}
    body = {"userId": user, "amount": "9.99"}
    first = api.post("/wallet/deposit", json=body, headers=headers)
    second = api.post("/wallet/deposit", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    balance = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()["balance"]
    assert balance == "9.99"


def test_form_and_json_forms_of_one_request_are_the_same_request(api: httpx.Client) -> None:
    user = unique()
    headers = {**auth(user), "Idempotency-Key": unique("key")}
    first = api.post("/wallet/deposit", json={"userId": user, "amount": "1.5"}, headers=headers)
    second = api.post("/wallet/deposit", data={"userId": user, "amount": "1.50"},
                      headers=headers)
    assert second.status_code == 201 and second.json() == first.json()


def test_keys_are_scoped_per_caller(api: httpx.Client) -> None:
    alice, bob, key = unique(), unique(), unique("key")
    first = api.post("/wallet/deposit", json={"userId": alice, "amount": "1"},
                     headers={**auth(alice), "Idempotency-Key": key})
    second = api.post("/wallet/deposit", json={"userId": bob, "amount": "1"},
                      headers={**auth(bob), "Idempotency-Key": key})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_bad_key_is_400(api: httpx.Client) -> None:
    user = unique()
    response = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                        headers={**auth(user), "Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Idempotency-Key"


def test_concurrent_duplicates_apply_once_without_errors(server: Server) -> None:
    user = unique()
    key = unique("key")

    async def burst() -> list[tuple[int, str]]:
        async with aiohttp.ClientSession(server.url) as session:
            async def one(amount: str) -> tuple[int, str]:
                async with session.post("/wallet/deposit", headers={
                        **auth(user), "Idempotency-Key": key},
                        json={"userId": user, "amount": amount}) as response:
                    return response.status, await response.text()
            same = [one("5") for _ in range(DUPLICATES)]
            different = [one("6") for _ in range(5)]
            return await asyncio.gather(*same, *different)

    answers = asyncio.run(burst())
    winners = {text for status, text in answers if status == 201}
    assert len(winners) == 1, "every 201 must carry the one and only transaction"
    assert {status for status, _ in answers} <= {201, 409}
    with httpx.Client(base_url=server.url) as client:
        balance = client.get(f"/wallet/balance/{user}", headers=auth(user)).json()["balance"]
        history = client.get(f"/wallet/history/{user}", headers=auth(user)).json()["items"]
    assert len(history) == 1
    assert balance in ("5.00", "6.00") and history[0]["amount"] == balance


REPLAY_DUPLICATES = 50


async def duplicates(
        urls: list[str], user: str, key: str, copies: int) -> list[tuple[int, str, bool]]:
    """`copies` identical requests at once, spread over `urls`: (status, body, replayed)."""
    async with aiohttp.ClientSession() as session:
        async def one(url: str) -> tuple[int, str, bool]:
            async with session.post(f"{url}/wallet/deposit", json={"userId": user, "amount": "5"},
                                    headers={**auth(user), "Idempotency-Key": key}) as response:
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                return response.status, await response.text(), replayed
        return await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(copies)))


def check_replays_are_marked(urls: list[str]) -> None:
    """Money moves once, and every answer but the one whose copy applied says it is a replay."""
    user, key = unique(), unique("key")
    answers = asyncio.run(duplicates(urls, user, key, REPLAY_DUPLICATES))
    assert {status for status, _, _ in answers} == {201}
    assert len({text for _, text, _ in answers}) == 1
    firsts = [replayed for _, _, replayed in answers if not replayed]
    assert len(firsts) == 1, f"{len(firsts)} answers claim to be the first"
    balance = httpx.get(f"{urls[0]}/wallet/balance/{user}", headers=auth(user)).json()
    assert balance["balance"] == "5.00"


def test_every_concurrent_duplicate_but_the_first_is_marked_replayed(server: Server) -> None:
    check_replays_are_marked([server.url])
