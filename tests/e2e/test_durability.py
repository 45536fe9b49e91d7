"""Kill -9 the whole process: nothing it acknowledged may be lost, nothing doubled."""

import signal
import sqlite3
from pathlib import Path

import httpx
from wallet.bootstrap import DATABASE_FILE

from tests.e2e.conftest import Engine
from tests.e2e.server import Server, auth, client, unique, wait_until

WRITES = 60


def test_acknowledged_writes_survive_kill_9(tmp_path: Path, engine: Engine) -> None:
    with engine.environment() as env:
        survive_kill_9(tmp_path, env)


def survive_kill_9(tmp_path: Path, env: dict[str, str]) -> None:
    user = unique()
    first = Server(tmp_path, env).start()
    acknowledged = []
    with client(first) as api:
        for index in range(WRITES):
            response = api.post("/wallet/deposit", json={"userId": user, "amount": "1.01"},
                                headers={**auth(user), "Idempotency-Key": f"k{index}"})
            assert response.status_code == 201
            acknowledged.append(response.json())
    first.stop(signal.SIGKILL)

    second = Server(tmp_path, env).start()
    try:
        with client(second) as api:
            balance = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
            assert balance["balance"] == f"{WRITES * 1.01:.2f}"
            retried = api.post("/wallet/deposit", json={"userId": user, "amount": "1.01"},
                               headers={**auth(user), "Idempotency-Key": "k0"})
            assert retried.status_code == 201 and retried.json() == acknowledged[0]
            after = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()["balance"]
            assert after == balance["balance"]
            history = api.get(f"/wallet/history/{user}", params={"limit": "200"},
                              headers=auth(user)).json()["items"]
            assert sorted(i["id"] for i in history) == sorted(a["id"] for a in acknowledged)
    finally:
        second.stop()


def test_a_graceful_stop_drains_and_restarts_cleanly(tmp_path: Path, engine: Engine) -> None:
    with engine.environment() as env:
        restart_cleanly(tmp_path, env)


def restart_cleanly(tmp_path: Path, env: dict[str, str]) -> None:
    user = unique()
    first = Server(tmp_path, env).start()
    with httpx.Client(base_url=first.url) as api:
        api.post("/wallet/deposit", json={"userId": user, "amount": "3"}, headers=auth(user))
    first.stop(signal.SIGTERM)
    assert first.process is not None and first.process.returncode == 0
    second = Server(tmp_path, env).start()
    try:
        with client(second) as api:
            body = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
            assert body["balance"] == "3.00"
    finally:
        second.stop()


LATE_WRITES = 30


def test_every_202_location_answers_after_kill_9_and_a_retry_applies_once(
        tmp_path: Path, engine: Engine) -> None:
    """A 202 promised an answer: after a kill -9, its Location reports the outcome, pending,
    or 410 outcome_unknown (the embedded log lost it), never a bare 404; and the retry the
    410 asks for, with the same key, applies each write exactly once."""
    with engine.environment() as env:
        user = unique()
        impatient = Server(tmp_path, {**env, "WALLET_WAIT_FOR_COMMIT_MS": "0"}).start()
        locations: dict[str, str] = {}
        with client(impatient) as api:
            for index in range(LATE_WRITES):
                response = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                                    headers={**auth(user), "Idempotency-Key": f"late{index}"})
                assert response.status_code in (201, 202), response.text
                if response.status_code == 202:
                    locations[f"late{index}"] = response.headers["Location"]
        impatient.stop(signal.SIGKILL)
        assert locations, "the impatient server answered every write before its commit"

        second = Server(tmp_path, env).start()
        try:
            with client(second) as api:
                statuses = []
                for key, location in locations.items():
                    polled = api.get(location, headers=auth(user))
                    statuses.append(polled.status_code)
                    assert polled.status_code in (200, 410), (key, polled.text)
                    if polled.status_code == 410:
                        error = polled.json()["error"]
                        assert error["code"] == "outcome_unknown"
                        assert "same Idempotency-Key" in error["message"]
                print(f"\n{engine.name}: {len(locations)} answered 202; after kill -9 their "
                      f"Locations answered {sorted(statuses)}")
                for index in range(LATE_WRITES):
                    retried = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                                       headers={**auth(user), "Idempotency-Key": f"late{index}"})
                    assert retried.status_code in (201, 202), retried.text
                    if retried.status_code == 202:  # Kafka: the group is still rejoining
                        settled(api, retried.headers["Location"], user)
                balance = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
                assert balance["balance"] == f"{LATE_WRITES}.00", "each write applies once"
        finally:
            second.stop()


REJOIN_TIMEOUT_S = 30.0  # a killed member's session expires, then the group rebalances


def settled(api: httpx.Client, location: str, user: str) -> None:
    def committed() -> bool:
        polled = api.get(location, headers=auth(user))
        assert polled.status_code == 200, polled.text
        return bool(polled.json().get("status") == "committed")
    wait_until(committed, timeout_s=REJOIN_TIMEOUT_S, interval_s=0.2)


def test_a_202_lost_with_the_embedded_log_answers_410_and_its_retry_applies_once(
        tmp_path: Path) -> None:
    """The embedded log is in memory: a write answered 202 while the ledger could not commit
    (another process holds SQLite's write lock) is lost with a kill -9. Its Location then
    says so, 410 outcome_unknown, and the retry with its key applies it once."""
    user = unique()
    server = Server(tmp_path, {"WALLET_WAIT_FOR_COMMIT_MS": "0"}).start()
    database = sqlite3.connect(tmp_path / DATABASE_FILE, isolation_level=None)
    try:
        database.execute("BEGIN IMMEDIATE")  # the consumer's batches now wait, then retry
        with client(server) as api:
            lost = api.post("/wallet/deposit", json={"userId": user, "amount": "2"},
                            headers={**auth(user), "Idempotency-Key": "lost"})
            assert lost.status_code == 202, lost.text
        server.stop(signal.SIGKILL)
    finally:
        database.execute("ROLLBACK")
        database.close()

    restarted = Server(tmp_path).start()
    try:
        with client(restarted) as api:
            polled = api.get(lost.headers["Location"], headers=auth(user))
            assert polled.status_code == 410, polled.text
            assert polled.json()["error"]["code"] == "outcome_unknown"
            for _ in range(2):
                retried = api.post("/wallet/deposit", json={"userId": user, "amount": "2"},
                                   headers={**auth(user), "Idempotency-Key": "lost"})
                assert retried.status_code == 201, retried.text
            assert api.get(lost.headers["Location"], headers=auth(user)).json()["status"] == \
                "committed"
            balance = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()
            assert balance["balance"] == "2.00"
    finally:
        restarted.stop()
