"""/metrics on every role of the split topology: gateways, the relay, and the consumers.

`wallet services` gives each child a metrics listener of its own, on a free
port, and records it in services.json; each is scraped without a token, and a gateway's API port
still answers /metrics to an operator.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.scrape import names, sample, scrape
from tests.e2e.server import auth, token, unique, wait_until
from tests.e2e.topology import Topology
from tests.services.postgres import fresh_database
from tests.services.redis import shared_redis_url, unique_namespace

CHILDREN = ("gateway-1", "gateway-2", "relay-1", "consumer-1", "consumer-2")


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with fresh_database() as database_url:
        env = {"WALLET_DATABASE_URL": database_url, "WALLET_REDIS_URL": shared_redis_url(),
               "WALLET_REDIS_NAMESPACE": unique_namespace()}  # metrics ports: picked free
        running = Topology(Path(tmp_path_factory.mktemp("metrics-topology")), env).start()
        yield running
        running.stop()


def metrics_url(topology: Topology, name: str) -> str:
    return str(topology.state()["processes"][name]["metrics_url"])


def test_every_child_records_a_metrics_listener_of_its_own(topology: Topology) -> None:
    urls = [metrics_url(topology, name) for name in CHILDREN]
    assert len(set(urls)) == len(CHILDREN)
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


def test_every_role_is_scraped_and_the_consumers_report_their_batches(
        topology: Topology) -> None:
    user = unique()
    bearer = token(user)

    async def deposit_while_listening() -> None:
        relay = topology.url("relay-1").replace("http://", "ws://") + f"/ws?token={bearer}"
        async with websockets.connect(relay) as socket:
            async with httpx.AsyncClient(base_url=topology.gateways[0], timeout=30) as api:
                answered = await api.post("/wallet/deposit", headers=auth(user),
                                          json={"userId": user, "amount": "2"})
                assert answered.status_code == 201, answered.text
            await asyncio.wait_for(socket.recv(), timeout=10)
            _, relay_samples = scrape(metrics_url(topology, "relay-1"))
            assert sample(relay_samples, "wallet_websockets_open") == 1

    asyncio.run(deposit_while_listening())
    _, gateway = scrape(metrics_url(topology, "gateway-1"))
    assert sample(gateway, "wallet_http_request_duration_seconds_count",
                  route="POST /wallet/deposit", status="201") == 1
    assert "wallet_waiters_in_flight" in names(gateway)
    wait_until(lambda: (sample(scrape(metrics_url(topology, "relay-1"))[1],
                               "wallet_events_fanned_out_total") or 0) >= 1, timeout_s=10)

    def batches(name: str) -> float:
        return sample(scrape(metrics_url(topology, name))[1], "wallet_batch_size_count") or 0

    wait_until(lambda: batches("consumer-1") + batches("consumer-2") >= 1, timeout_s=10)
    for name in ("consumer-1", "consumer-2"):
        text, samples = scrape(metrics_url(topology, name))
        assert "wallet_dead_letters_total" in names(samples)
        assert user not in text and bearer not in text


def test_the_consumers_report_lag_for_the_partitions_they_hold(topology: Topology) -> None:
    def partitions(name: str) -> set[str]:
        _, samples = scrape(metrics_url(topology, name))
        return {dict(labels)["partition"] for (series, labels) in samples
                if series == "wallet_consumer_lag_records"}

    wait_until(lambda: bool(partitions("consumer-1") | partitions("consumer-2")), timeout_s=15)
    assert not partitions("consumer-1") & partitions("consumer-2")  # each holds its own


def test_a_consumer_is_probed_for_readiness_on_its_metrics_listener(topology: Topology) -> None:
    """A consumer serves no API: its metrics listener answers /healthz, stall included."""
    for name in ("consumer-1", "consumer-2"):
        health = metrics_url(topology, name).removesuffix("/metrics") + "/healthz"
        answer = httpx.get(health, timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"status": "ok"}), answer.text
        _, samples = scrape(metrics_url(topology, name))
        assert sample(samples, "wallet_ledger_stalled_seconds") == 0


def test_a_gateway_api_port_answers_metrics_to_operators_only(topology: Topology) -> None:
    gateway = topology.gateways[1]
    assert httpx.get(f"{gateway}/metrics", timeout=10).status_code == 401
    assert httpx.get(f"{gateway}/metrics", headers=auth("someone"), timeout=10).status_code == 403
    _, samples = scrape(f"{gateway}/metrics", auth("ops", "operator"))
    assert "wallet_http_requests_in_flight" in names(samples)
    relay = topology.url("relay-1")
    _, samples = scrape(f"{relay}/metrics", auth("ops", "operator"))
    assert "wallet_websockets_open" in names(samples)
