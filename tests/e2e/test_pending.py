"""When the ledger is slower than the caller's patience: 202, then poll the Location."""

from collections.abc import Iterator
from pathlib import Path

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
        assert location == f"/wallet/transactions/{body['id']}"

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
