"""When the ledger is slower than the caller's patience: 202, then poll the Location."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.e2e.conftest import Engine
from tests.e2e.server import Server, auth, client, unique, wait_until


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Server]:
    with engine.environment() as env:
        env = {**env, "WALLET_WAIT_FOR_COMMIT_MS": "0"}
        running = Server(Path(tmp_path_factory.mktemp("impatient")), env).start()
        yield running
        running.stop()


def test_a_late_commit_answers_202_with_a_location_to_poll(impatient: Server) -> None:
    user = unique()
    with client(impatient) as api:
        statuses = []
        for _ in range(5):  # a very fast commit may still win the race; most answers are 202
            response = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                                headers=auth(user))
            statuses.append(response.status_code)
            if response.status_code == 202:
                break
        assert response.status_code == 202, statuses
        body = response.json()
        assert body["status"] == "pending"
        location = response.headers["Location"]
        assert location.startswith(f"/wallet/transactions/{body['id']}?request=")

        def committed() -> bool:
            polled = api.get(location, headers=auth(user))
            assert polled.status_code == 200, polled.text
            return bool(polled.json()["status"] == "committed")

        wait_until(committed)
        final = api.get(location, headers=auth(user)).json()
        assert final["id"] == body["id"] and final["amount"] == "1.00"


def test_a_late_rejection_is_visible_at_the_location(impatient: Server) -> None:
    user = unique()
    with client(impatient) as api:
        response = api.post("/wallet/payout", json={"userId": user, "amount": "1"},
                            headers={**auth(user), "Idempotency-Key": "late"})
        if response.status_code == 422:
            pytest.fail("expected the impatient server to answer before the commit")
        location = response.headers["Location"]

        def settled() -> bool:
            return bool(api.get(location, headers=auth(user)).json()["status"] != "pending")

        wait_until(settled)
        final = api.get(location, headers=auth(user)).json()
        assert final["status"] == "rejected"
        assert final["error"]["code"] == "insufficient_funds"
        retry = api.post("/wallet/payout", json={"userId": user, "amount": "1"},
                         headers={**auth(user), "Idempotency-Key": "late"})
        assert retry.status_code == 422


REUSED_KEY_COPIES = 8


def test_a_location_never_reports_another_requests_outcome(impatient: Server) -> None:
    """One key, different bodies, raced: each Location reports its own request, or 409."""
    user, key = unique(), unique("key")

    async def race() -> list[tuple[str, int, dict[str, object], str | None]]:
        async with aiohttp.ClientSession(impatient.url) as session:
            async def one(amount: str) -> tuple[str, int, dict[str, object], str | None]:
                async with session.post("/wallet/deposit", json={"userId": user, "amount": amount},
                                        headers={**auth(user), "Idempotency-Key": key}) as answer:
                    return amount, answer.status, await answer.json(), \
                        answer.headers.get("Location")
            return await asyncio.gather(*(one(f"{n}.00") for n in range(1, REUSED_KEY_COPIES + 1)))

    answers = asyncio.run(race())
    pending = [(amount, location) for amount, status, _, location in answers if status == 202]
    assert pending, "the impatient server answered every request before its commit"
    with client(impatient) as api:
        for amount, location in pending:
            assert location is not None

            def settled(where: str = location) -> bool:
                return api.get(where, headers=auth(user)).json().get("status") != "pending"

            wait_until(settled)
            final = api.get(location, headers=auth(user))
            if final.status_code == 200 and final.json()["status"] == "committed":
                assert final.json()["amount"] == amount, "a Location reported another request"
            else:
                assert final.status_code == 409, final.text
                assert final.json()["error"]["code"] == "idempotency_key_reused"
    assert sum(status == 201 for _, status, _, _ in answers) <= 1



LATE_ROUNDS = 5  # a very fast commit may still win the race; most answers are 202


def outcome(api: httpx.Client, response: httpx.Response, user: str) -> dict[str, Any]:
    """What a write answered, or, for a 202, what its Location answers once it settles."""
    if response.status_code != 202:
        assert response.status_code in (200, 201), response.text
        answered: dict[str, Any] = response.json()
        return answered
    location = response.headers["Location"]
    wait_until(lambda: api.get(location, headers=auth(user)).json().get("status") != "pending")
    polled = api.get(location, headers=auth(user))
    assert polled.status_code == 200, polled.text
    body: dict[str, Any] = polled.json()
    return body


def test_a_late_hold_and_its_late_capture_are_read_at_their_locations(
        impatient: Server) -> None:
    """A hold command's Location answers what the write would have: the Hold, the capture."""
    user = unique()
    with client(impatient) as api:
        outcome(api, api.post("/wallet/deposit", json={"userId": user, "amount": "100"},
                              headers=auth(user)), user)
        statuses = []
        for _ in range(LATE_ROUNDS):
            placing = api.post("/wallet/holds", json={"userId": user, "amount": "4"},
                               headers=auth(user))
            hold = outcome(api, placing, user)
            assert (hold["status"], hold["amount"], hold["userId"]) == ("held", "4.00", user)
            capturing = api.post(f"/wallet/holds/{hold['id']}/capture", json={"amount": "1"},
                                 headers=auth(user))
            captured = outcome(api, capturing, user)
            assert captured["hold"]["status"] == "captured"
            assert captured["transaction"]["holdId"] == hold["id"]
            statuses.append((placing.status_code, capturing.status_code))
            if statuses[-1] == (202, 202):
                return
        pytest.fail(f"never both late: {statuses}")
