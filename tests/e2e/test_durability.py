"""Kill -9 the whole process: nothing it acknowledged may be lost, nothing doubled."""

import signal
from pathlib import Path

import httpx

from tests.e2e.conftest import Engine
from tests.e2e.server import Server, auth, client, unique

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
