"""Rate limits on a real `wallet serve`: 429 with Retry-After over a user's burst, strangers
limited by address, operators and health checks untouched, websockets counted, and (with
Redis) one bucket shared by two gateways.

Every test sends from a loopback address of its own (127.0.0.N: Linux routes all of
127/8 to lo), so the address buckets of one test never meet another's.
"""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from jsonschema import Draft202012Validator

from tests.e2e.conftest import SERVICES, Engine
from tests.e2e.server import Server, auth, token, unique, wait_until

BURST = 5
LIMITS = {"WALLET_RATE_LIMIT_USER_PER_S": "1", "WALLET_RATE_LIMIT_USER_BURST": str(BURST),
          "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "1",
          "WALLET_RATE_LIMIT_UNAUTHENTICATED_BURST": str(BURST)}
FLOOD = 60  # twelve bursts' worth
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
REFILL_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def limited(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("limited")), {**env, **LIMITS}).start()
        yield running
        running.stop()


def from_address(server: Server | str, last_octet: int) -> httpx.Client:
    url = server if isinstance(server, str) else server.url
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{last_octet}")
    return httpx.Client(base_url=url, timeout=30, transport=transport)


def test_a_user_past_the_burst_gets_429_with_retry_after(limited: Server) -> None:
    user = unique()
    with from_address(limited, 11) as api:
        answers = [api.get(f"/wallet/balance/{user}", headers=auth(user))
                   for _ in range(BURST + 1)]
        assert [a.status_code for a in answers] == [200] * BURST + [429]
        refused = answers[-1]
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Limit"] == str(BURST)
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert int(refused.headers["RateLimit-Reset"]) >= 1
        assert [answers[0].headers[name] for name in RATE_HEADERS[:2]] == [str(BURST), "4"]
        scrape = api.get("/metrics", headers=auth("ops", "operator")).text
        assert 'wallet_rate_limited_total{bucket="user"}' in scrape
        spec = api.get("/openapi.json").json()
        documented = spec["paths"]["/wallet/balance/{userId}"]["get"]["responses"]["429"]
        assert documented == {"$ref": "#/components/responses/RateLimited"}
        Draft202012Validator({**spec["components"]["schemas"]["Error"],
                              "components": spec["components"]}).validate(refused.json())
        wait_until(lambda: api.get(f"/wallet/balance/{user}", headers=auth(user)).status_code
                   == 200, REFILL_TIMEOUT_S, 0.25)


def test_operators_health_checks_and_docs_are_never_limited(limited: Server) -> None:
    operator = auth("ops", "operator")
    with from_address(limited, 12) as api:
        statuses = {api.get("/wallet/currencies", headers=operator).status_code
                    for _ in range(FLOOD)}
        statuses |= {api.get("/metrics", headers=operator).status_code for _ in range(FLOOD)}
        for path in ("/healthz", "/openapi.json", "/docs"):
            statuses |= {api.get(path).status_code for _ in range(FLOOD)}
        assert statuses == {200}


def test_a_failed_authentication_flood_is_limited_while_a_valid_user_passes(
        limited: Server) -> None:
    with from_address(limited, 13) as attacker, from_address(limited, 14) as other:
        bad = {"Authorization": f"Bearer {token('mallory', secret='not-the-secret' * 4)}"}
        answers = [attacker.get("/wallet/currencies", headers=bad).status_code
                   for _ in range(FLOOD)]
        assert answers[:BURST] == [401] * BURST
        assert answers.count(429) >= FLOOD - 2 * BURST, "a token a second, at most"
        unrouted = attacker.get("/wallet/no-such-route", headers=bad)
        assert unrouted.status_code == 429, "a wrong path is no way around the limit"
        assert attacker.get("/wallet/currencies", headers=auth(unique())).status_code == 200
        assert other.get("/wallet/currencies").status_code == 401, "another address"


def test_a_websocket_connect_counts_against_the_same_buckets(limited: Server) -> None:
    user = unique()
    with from_address(limited, 15) as api:
        for _ in range(BURST - 1):
            assert api.get("/wallet/currencies", headers=auth(user)).status_code == 200

    async def scenario() -> None:
        url = limited.url.replace("http://", "ws://") + "/ws?token="
        async with websockets.connect(url + token(user), local_addr=("127.0.0.15", 0)):
            status, headers, body = await refusal(url + token(user), "127.0.0.15")
            assert (status, body["error"]["code"]) == (429, "rate_limited")
            assert int(headers["Retry-After"]) >= 1
        statuses = [(await refusal(url + "garbage", "127.0.0.16"))[0] for _ in range(BURST + 1)]
        assert statuses == [401] * BURST + [429]

    asyncio.run(scenario())


async def refusal(url: str, address: str) -> tuple[int, Any, dict[str, Any]]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, local_addr=(address, 0)):
            pass
    response = refused.value.response
    return response.status_code, response.headers, json.loads(response.body or b"{}")


def test_two_gateways_share_a_users_bucket_through_redis(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = Engine(SERVICES, request.getfixturevalue("broker"))
    user = unique()
    with engine.environment() as env:
        shared = {**env, **LIMITS, "WALLET_ROLE": "gateway"}
        gateways = []
        for name in ("g1", "g2"):
            (tmp_path / name).mkdir()
            gateways.append(Server(tmp_path / name, shared).start())
        try:
            statuses = []
            for number in range(2 * BURST):
                with from_address(gateways[number % 2].url, 17) as api:
                    statuses.append(api.get("/wallet/currencies", headers=auth(user)).status_code)
        finally:
            for gateway in gateways:
                gateway.stop()
    assert statuses[:BURST] == [200] * BURST
    assert statuses.count(200) <= BURST + 1, "one bucket: a burst in all, and a token refilled"
    refused_by = {number % 2 for number, status in enumerate(statuses) if status == 429}
    assert refused_by == {0, 1}, "each gateway refuses what the other one let through"
