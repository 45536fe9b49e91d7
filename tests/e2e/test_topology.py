"""The split topology on real services: 2 gateways, 2 consumers, 1 relay, and faults.

Each test starts `wallet services` (the documented `make run-services`) with
its own broker, database and Redis namespace, drives thousands of mixed
operations through both gateways, and then checks the money to the cent.
Faults are injected the hard way: kill -9 a consumer, kill -9 the broker,
stop and restart Redis while the load runs.
"""

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.load import Settled, check_books, plan, run
from tests.e2e.server import auth, token, unique, wait_until
from tests.e2e.test_idempotency import check_replays_are_marked
from tests.e2e.topology import Topology
from tests.services.postgres import fresh_database
from tests.services.redis import RedisServer, shared_redis_url, unique_namespace

WALLETS = 24  # with 8 partitions, most transfers cross partitions
OPERATIONS = 2_000
CONCURRENCY = 100
FAULT_OPERATIONS = 1_200
RECOVERY_TIMEOUT_S = 30


def start(tmp_path: Path, database_url: str, redis_url: str) -> Topology:
    env = {"WALLET_DATABASE_URL": database_url, "WALLET_REDIS_URL": redis_url,
           "WALLET_REDIS_NAMESPACE": unique_namespace()}
    return Topology(tmp_path, env).start()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    with fresh_database() as database_url:
        running = start(tmp_path, database_url, shared_redis_url())
        yield running
        running.stop()


class Background:
    """Runs a load in a thread, so the test can injure the topology meanwhile."""

    def __init__(self, topology: Topology, wallets: list[str], count: int) -> None:
        operations = plan(wallets, count, random.Random(count))
        self.settled: list[Settled] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(topology, wallets, operations))
        self._thread.start()

    def _run(self, topology: Topology, wallets: list[str], operations: list[Any]) -> None:
        try:
            self.settled = asyncio.run(run(topology.gateways, operations, CONCURRENCY,
                                           warm_up=len(wallets)))
        except BaseException as error:  # handed to the test thread, which re-raises it
            self.error = error

    def join(self) -> list[Settled]:
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "the load did not finish"
        if self.error is not None:
            raise self.error
        return self.settled


def batches_applied(topology: Topology, name: str) -> int:
    return topology.logs(name).count('"batch applied"')


def test_2000_mixed_operations_through_two_gateways_leave_exact_balances(
        topology: Topology) -> None:
    wallets = [unique("w") for _ in range(WALLETS)]
    operations = plan(wallets, OPERATIONS, random.Random(20261125))
    assert sum(op.kind == "transfer" for op in operations) > OPERATIONS // 3
    settled = asyncio.run(run(topology.gateways, operations, CONCURRENCY, warm_up=WALLETS))
    check_books(topology.gateways[0], wallets, settled)
    check_books(topology.gateways[1], wallets, settled)
    assert batches_applied(topology, "consumer-1") and batches_applied(topology, "consumer-2"), \
        "both consumers must have taken part"
    asyncio.run(_a_gateway_pushes_what_the_other_one_wrote(topology))


async def _a_gateway_pushes_what_the_other_one_wrote(topology: Topology) -> None:
    """Each gateway serves the dashboard, so each serves its websocket too."""
    user = unique("ws")
    second = topology.gateways[1].replace("http://", "ws://") + f"/ws?token={token(user)}"
    async with websockets.connect(second) as socket:
        made = await _deposit(topology, user, "3.00")
        assert made.status_code == 201
        event = await _event_for(socket, user, "3.00")
        assert event["transaction"]["id"] == made.json()["id"]


def test_duplicates_through_two_gateways_are_replays_but_one(topology: Topology) -> None:
    """Which copy applied is recorded with the outcome, so every gateway marks the others."""
    check_replays_are_marked(topology.gateways)


def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
        topology: Topology) -> None:
    wallets = [unique("k") for _ in range(WALLETS)]
    load = Background(topology, wallets, FAULT_OPERATIONS)
    wait_until(lambda: batches_applied(topology, "consumer-1") >= 3, timeout_s=60)
    killed = topology.kill("consumer-1")
    wait_until(lambda: topology.pid("consumer-1") != killed, timeout_s=RECOVERY_TIMEOUT_S)
    settled = load.join()
    check_books(topology.gateways[0], wallets, settled)


def test_a_broker_restart_under_load_keeps_every_acknowledged_write(
        topology: Topology) -> None:
    wallets = [unique("b") for _ in range(WALLETS)]
    load = Background(topology, wallets, FAULT_OPERATIONS)
    wait_until(lambda: batches_applied(topology, "consumer-1")
               + batches_applied(topology, "consumer-2") >= 5, timeout_s=60)
    killed = topology.kill("broker")
    wait_until(lambda: topology.pid("broker") != killed, timeout_s=RECOVERY_TIMEOUT_S)
    settled = load.join()
    check_books(topology.gateways[0], wallets, settled)


def test_the_relay_and_gateways_recover_from_a_redis_restart(tmp_path: Path) -> None:
    with fresh_database() as database_url, RedisServer() as redis:
        running = start(tmp_path, database_url, redis.url)
        try:
            asyncio.run(_redis_restart_scenario(running, redis))
        finally:
            running.stop()


async def _redis_restart_scenario(topology: Topology, redis: RedisServer) -> None:
    user = unique("r")
    relay = topology.url("relay-1").replace("http://", "ws://") + f"/ws?token={token(user)}"
    async with websockets.connect(relay) as socket:
        assert (await _deposit(topology, user, "1.00")).status_code == 201
        await _event_for(socket, user, "1.00")
        redis.stop()
        during = await _deposit(topology, user, "2.00")
        assert during.status_code == 201, "writes commit while Redis is down"
        redis.restart()
        await _until_an_event_arrives(topology, socket, user)
    balance = httpx.get(f"{topology.gateways[1]}/wallet/balance/{user}", headers=auth(user))
    assert balance.status_code == 200
    history = httpx.get(f"{topology.gateways[0]}/wallet/history/{user}", headers=auth(user))
    amounts = [item["amount"] for item in history.json()["items"]]
    total = sum(int(a.replace(".", "")) for a in amounts)
    assert balance.json()["balance"] == f"{total // 100}.{total % 100:02d}"


async def _deposit(topology: Topology, user: str, amount: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=topology.gateways[0], timeout=30) as client:
        return await client.post("/wallet/deposit", json={"userId": user, "amount": amount},
                                 headers={**auth("ops", "operator"),
                                          "Idempotency-Key": unique("key")})


async def _event_for(socket: Any, user: str, balance: str | None = None,
                     deadline_s: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(deadline_s):
        while True:
            message = json.loads(await socket.recv())
            if message.get("event") == "balanceUpdated" and message["userId"] == user and (
                    balance is None or message["balance"] == balance):
                return message


async def _until_an_event_arrives(topology: Topology, socket: Any, user: str) -> None:
    """The relay resubscribes after a backoff: deposit until one of them is pushed."""
    for _ in range(RECOVERY_TIMEOUT_S):
        assert (await _deposit(topology, user, "0.01")).status_code == 201
        try:
            await _event_for(socket, user, deadline_s=1)
            return
        except TimeoutError:
            continue
    raise AssertionError("the relay never pushed an event after Redis came back")
