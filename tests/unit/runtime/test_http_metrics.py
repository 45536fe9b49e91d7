"""wallet_runtime/http_metrics.py: what a request adds to the edge's series, without I/O."""

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CollectorRegistry
from wallet_runtime.http_metrics import UNROUTED, HttpMetrics, route_label

ROUTES = (("GET", "/wallet/balance/{userId}"), ("GET", "/ws"), ("*", "/{tail:.*}"))


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.Response(status=202)


async def _broken(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("a bug")


def routed(method: str, path: str) -> web.Request:
    app = web.Application()
    for route_method, template in ROUTES:
        app.router.add_route(route_method, template, _ok)
    request = make_mocked_request(method, path, app=app)
    request._match_info = asyncio.run(app.router.resolve(request))  # what the app does first
    return request


def count(registry: CollectorRegistry, route: str, status: str) -> float | None:
    return registry.get_sample_value("wallet_http_request_duration_seconds_count",
                                     {"route": route, "status": status})


def test_a_route_is_labelled_by_its_template_and_a_stray_path_by_one_word() -> None:
    assert route_label(routed("GET", "/wallet/balance/alice")) == "GET /wallet/balance/{userId}"
    assert route_label(routed("PROPFIND", "/alice/secret")) == UNROUTED


def test_an_answer_is_timed_by_status_and_a_202_is_counted() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    asyncio.run(metrics.middleware(routed("GET", "/wallet/balance/alice"), _ok))
    assert count(registry, "GET /wallet/balance/{userId}", "202") == 1
    assert registry.get_sample_value("wallet_http_pending_responses_total") == 1
    assert registry.get_sample_value("wallet_http_requests_in_flight") == 0


def test_a_bug_is_timed_as_a_500_and_leaves_nothing_in_flight() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    with pytest.raises(RuntimeError):
        asyncio.run(metrics.middleware(routed("GET", "/wallet/balance/alice"), _broken))
    assert count(registry, "GET /wallet/balance/{userId}", "500") == 1
    assert registry.get_sample_value("wallet_http_requests_in_flight") == 0


def test_a_websocket_session_is_not_a_timed_request() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    asyncio.run(metrics.middleware(routed("GET", "/ws"), _ok))
    assert count(registry, "GET /ws", "202") is None
    assert registry.get_sample_value("wallet_http_pending_responses_total") == 0
