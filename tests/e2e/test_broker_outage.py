"""A producer that cannot reach Kafka answers 503, never a 201 or 202 it cannot stand behind."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server, auth, unique, wait_until
from tests.services.kafka import Tansu
from tests.services.postgres import fresh_database
from tests.services.redis import shared_redis_url, unique_namespace

RECOVERY_TIMEOUT_S = 30


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[Server, Tansu]]:
    with Tansu(tmp_path) as broker, fresh_database() as database_url:
        env = {"WALLET_KAFKA_BOOTSTRAP": broker.bootstrap, "WALLET_DATABASE_URL": database_url,
               "WALLET_REDIS_URL": shared_redis_url(),
               "WALLET_REDIS_NAMESPACE": unique_namespace()}
        server = Server(tmp_path, env).start()
        yield server, broker
        server.stop()


def test_writes_fail_as_unavailable_while_the_broker_is_down_and_recover(
        own_broker: tuple[Server, Tansu]) -> None:
    server, broker = own_broker
    user = unique()
    with httpx.Client(base_url=server.url, timeout=30) as api:
        def deposit(key: str) -> httpx.Response:
            return api.post("/wallet/deposit", json={"userId": user, "amount": "1.00"},
                            headers={**auth(user), "Idempotency-Key": key})

        assert deposit("before").status_code == 201
        broker.stop()
        refused = deposit("during")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "unavailable"
        broker.restart()
        wait_until(lambda: deposit("during").status_code == 201, timeout_s=RECOVERY_TIMEOUT_S,
                   interval_s=0.5)
        balance = api.get(f"/wallet/balance/{user}", headers=auth(user)).json()["balance"]
        assert balance == "2.00", "the refused write applied once, on its retry"
