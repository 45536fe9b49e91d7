"""GET /metrics on a running wallet: operators only on the API port, and the series it promises.

Every test here runs on both configurations. The scrape must never carry a
user id or a token: routes are labelled by their template.
"""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.e2e.conftest import Engine
from tests.e2e.scrape import Samples, names, sample, scrape
from tests.e2e.server import Server, auth, client, token, unique, wait_until

SERIES = ("wallet_http_request_duration_seconds_bucket", "wallet_http_requests_in_flight",
          "wallet_websockets_open", "wallet_http_pending_responses_total",
          "wallet_batch_size_bucket", "wallet_batch_apply_seconds_bucket",
          "wallet_waiters_in_flight", "wallet_dead_letters_total",
          "wallet_events_published_total", "wallet_events_fanned_out_total")
_METRICS_ON = re.compile(r"Wallet metrics on (http://\S+)")


def operator_scrape(server: Server) -> tuple[str, Samples]:
    return scrape(f"{server.url}/metrics", auth("ops", "operator"))


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[Server]:
    """Answers 202 at once, and opens the separate metrics listener on a port of its own."""
    with engine.environment() as env:
        env = {**env, "WALLET_WAIT_FOR_COMMIT_MS": "0", "WALLET_METRICS_PORT": "0"}
        running = Server(Path(tmp_path_factory.mktemp("metrics")), env).start()
        yield running
        running.stop()


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer not-a-token"}, 401, "unauthorized"),
    (auth("someone"), 403, "forbidden"),
])
def test_metrics_on_the_api_port_need_an_operator(
        api: httpx.Client, headers: dict[str, str], status: int, code: str) -> None:
    response = api.get("/metrics", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "wallet_" not in response.text


def test_a_scrape_after_a_deposit_and_a_websocket_has_every_series(server: Server) -> None:
    user = unique()
    bearer = token(user)

    async def scenario() -> None:
        url = server.url.replace("http://", "ws://") + f"/ws?token={bearer}"
        async with websockets.connect(url) as socket:
            with client(server) as api:
                deposited = api.post("/wallet/deposit", json={"userId": user, "amount": "5"},
                                     headers=auth(user))
                assert deposited.status_code == 201, deposited.text
                assert api.get(f"/wallet/balance/{user}", headers=auth(user)).status_code == 200
            await asyncio.wait_for(socket.recv(), timeout=10)  # its balanceUpdated
            _, samples = operator_scrape(server)
            assert (sample(samples, "wallet_websockets_open") or 0) >= 1

    asyncio.run(scenario())
    wait_until(lambda: (sample(operator_scrape(server)[1],
                               "wallet_events_fanned_out_total") or 0) >= 1, timeout_s=10)
    text, samples = operator_scrape(server)
    assert set(SERIES) <= names(samples), set(SERIES) - names(samples)
    assert sample(samples, "wallet_http_request_duration_seconds_count",
                  route="POST /wallet/deposit", status="201") >= 1
    assert sample(samples, "wallet_http_request_duration_seconds_count",
                  route="GET /wallet/balance/{userId}", status="200") >= 1
    assert sample(samples, "wallet_http_requests_in_flight") >= 1  # this very scrape
    assert sample(samples, "wallet_batch_size_count") >= 1
    assert sample(samples, "wallet_batch_size_sum") >= sample(samples, "wallet_batch_size_count")
    assert sample(samples, "wallet_events_published_total") >= 1
    assert sample(samples, "wallet_dead_letters_total") == 0
    assert user not in text and bearer not in text


def test_the_consumer_lag_is_reported_per_partition(server: Server) -> None:
    def lag_reported() -> bool:
        return any(name == "wallet_consumer_lag_records" for name, _ in operator_scrape(server)[1])

    wait_until(lag_reported, timeout_s=10)
    _, samples = operator_scrape(server)
    lags = {dict(labels)["partition"]: value for (name, labels), value in samples.items()
            if name == "wallet_consumer_lag_records"}
    assert all(partition.isdigit() and value >= 0 for partition, value in lags.items()), lags


def test_a_route_nobody_knows_is_one_label_not_the_path(api: httpx.Client,
                                                        server: Server) -> None:
    secret_path = f"/nowhere-{unique()}"
    assert api.get(secret_path).status_code == 404
    text, samples = operator_scrape(server)
    assert secret_path not in text
    assert sample(samples, "wallet_http_request_duration_seconds_count",
                  route="unrouted", status="404") >= 1


def test_202s_are_counted_and_the_metrics_port_needs_no_token(impatient: Server) -> None:
    user = unique()
    with client(impatient) as api:
        for _ in range(5):  # a very fast commit may still win the race; most answers are 202
            answered = api.post("/wallet/deposit", json={"userId": user, "amount": "1"},
                                headers=auth(user))
            if answered.status_code == 202:
                break
        assert answered.status_code == 202, answered.text
    [metrics_url] = [m.group(1) for line in impatient.banner if (m := _METRICS_ON.search(line))]
    text, samples = scrape(metrics_url)
    assert sample(samples, "wallet_http_pending_responses_total") >= 1
    assert sample(samples, "wallet_http_request_duration_seconds_count",
                  route="POST /wallet/deposit", status="202") >= 1
    assert user not in text
