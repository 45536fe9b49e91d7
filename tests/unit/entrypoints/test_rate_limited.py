"""Rate limits at both edges: api.handle (HTTP, either runtime) and ws_event's $connect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.adapters.prometheus_metrics import PrometheusMetrics
from wallet.domain.rate_limits import Rate, RateLimits
from wallet.entrypoints import api, ws_event
from wallet.entrypoints.request import Request
from wallet.service_layer.relay import Relay
from wallet.service_layer.throttle import Throttle
from wallet.service_layer.wallet import WalletService

from ..fakes import ALICE, BOB, OPERATOR, SECRET, RecordingSender, bearer, container, stack

LIMITS = RateLimits(user=Rate(per_s=1, burst=2), operator=None,
                    unauthenticated=Rate(per_s=1, burst=3))
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture(autouse=True)
def metrics() -> Iterator[PrometheusMetrics]:
    metrics = PrometheusMetrics()
    throttle = Throttle(MemoryRateLimiter(), LIMITS, metrics=metrics)
    relay = Relay(MemoryConnections(RecordingSender()), JwtTokens(SECRET), throttle=throttle)
    bootstrap.install(container(wallet=stack().service, throttle=throttle, relay=relay))
    yield metrics
    bootstrap.install(None)


def refusals(metrics: PrometheusMetrics, bucket: str) -> float | None:
    return metrics.registry.get_sample_value("wallet_rate_limited_total", {"bucket": bucket})


async def answer(request: Request, wallet: WalletService) -> api.Response:
    return api.ok({})


def request(headers: dict[str, str], source_ip: str = "203.0.113.7") -> dict[str, Any]:
    return api.run({"routeKey": "GET /wallet/currencies", "headers": headers,
                    "requestContext": {"requestId": "r", "http": {"sourceIp": source_ip}}},
                   answer)


def test_a_user_gets_the_burst_then_429_in_the_envelope(metrics: PrometheusMetrics) -> None:
    statuses = [request(bearer(ALICE))["statusCode"] for _ in range(2)]
    refused = request(bearer(ALICE))
    assert statuses == [200, 200]
    assert refused["statusCode"] == 429
    error = json.loads(refused["body"])["error"]
    assert error["code"] == "rate_limited" and error["message"]
    assert refused["headers"]["Retry-After"] == "1"
    assert [refused["headers"][name] for name in RATE_HEADERS] == ["2", "0", "2"]
    assert refusals(metrics, "user") == 1


def test_an_allowed_request_says_what_is_left() -> None:
    first = request(bearer(ALICE))
    assert [first["headers"][name] for name in RATE_HEADERS] == ["2", "1", "1"]
    assert "Retry-After" not in first["headers"]


def test_users_have_buckets_of_their_own() -> None:
    for _ in range(3):
        request(bearer(ALICE))
    assert request(bearer(BOB))["statusCode"] == 200


def test_operators_are_not_limited_by_default_and_get_no_rate_headers() -> None:
    answers = [request(bearer(OPERATOR)) for _ in range(50)]
    assert {a["statusCode"] for a in answers} == {200}
    assert not set(RATE_HEADERS) & set(answers[-1]["headers"])


def test_failed_authentication_draws_on_the_address_bucket(metrics: PrometheusMetrics) -> None:
    statuses = [request({"Authorization": "Bearer nope"})["statusCode"] for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert (refusals(metrics, "address"), refusals(metrics, "user")) == (1, None)
    assert request({}, source_ip="198.51.100.1")["statusCode"] == 401, "another address"
    assert request(bearer(ALICE))["statusCode"] == 200, "a valid user from that address"


def connect(connection_id: str, token: str, source_ip: str = "203.0.113.7") -> dict[str, Any]:
    return ws_event.handle({
        "requestContext": {"routeKey": "$connect", "connectionId": connection_id,
                           "identity": {"sourceIp": source_ip}},
        "queryStringParameters": {"token": token}})


def test_a_websocket_connect_draws_on_the_callers_bucket() -> None:
    request(bearer(ALICE))
    assert connect("c-1", JwtTokens(SECRET).issue(ALICE, 60))["statusCode"] == 200
    refused = connect("c-2", JwtTokens(SECRET).issue(ALICE, 60))
    assert refused["statusCode"] == 429
    assert refused["headers"]["Retry-After"] == "1"
    assert json.loads(refused["body"])["error"]["code"] == "rate_limited"
    assert request(bearer(ALICE))["statusCode"] == 429, "one bucket for HTTP and websockets"


def test_a_websocket_connect_with_a_bad_token_draws_on_the_address_bucket() -> None:
    statuses = [connect(f"c-{n}", "garbage")["statusCode"] for n in range(3)]
    assert statuses == [401, 401, 401]
    assert request({})["statusCode"] == 429, "one address bucket for HTTP and websockets"
    assert connect("c-9", "garbage", "198.51.100.1")["statusCode"] == 401
