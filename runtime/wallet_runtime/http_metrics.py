"""`GET /metrics` and the HTTP edge's own series: latency by route, in flight, websockets, 202s.

The edge measures itself here, with prometheus_client directly; the service
layer reports through the Metrics port instead. A route is labelled by its
template (`GET /wallet/balance/{userId}`), never by the raw path, so no user
id reaches a series; whatever matched no route is one `unrouted` label, so a
scanner cannot grow the label set. On the API's port the scrape needs an
operator token; the optional WALLET_METRICS_PORT listener needs none and is
meant to stay on a private address.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from wallet.bootstrap import Container
from wallet.domain.errors import Forbidden, WalletError

from wallet_runtime.events import caller, error_answer

METRICS_PATH = "/metrics"
WEBSOCKET_PATH = "/ws"  # a session, not a request: counted as open, never timed
UNROUTED = "unrouted"
CATCH_ALL = "/{tail}"  # the canonical form of the runtime's last route, `/{tail:.*}`
PENDING_STATUS = "202"
# From a cached read (under a millisecond) to WALLET_WAIT_FOR_COMMIT_MS's ceiling (60 s).
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60)

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._latency = Histogram(
            "wallet_http_request_duration_seconds", "Time to answer a request.",
            ["route", "status"], buckets=LATENCY_BUCKETS_S, registry=registry)
        # Plain counts on the event loop's thread, read at scrape time: no lock per request.
        self._in_flight_count = 0
        self._timers: dict[tuple[str, str], Histogram] = {}  # bounded: routes x statuses
        Gauge("wallet_http_requests_in_flight", "Requests being answered now (websockets "
              "excluded).", registry=registry).set_function(lambda: self._in_flight_count)
        self._pending = Counter("wallet_http_pending_responses",
                                "202 Accepted answers: writes not committed within the wait.",
                                registry=registry)
        self._websockets = Gauge("wallet_websockets_open", "Open websocket connections.",
                                 registry=registry)

    def watch_websockets(self, open_count: Callable[[], int]) -> None:
        self._websockets.set_function(open_count)

    @web.middleware
    async def middleware(self, request: web.Request, handler: View) -> web.StreamResponse:
        route = route_label(request)
        if route.endswith(f" {WEBSOCKET_PATH}"):
            return await handler(request)
        started, status = time.perf_counter(), "cancelled"  # unless an answer is reached
        self._in_flight_count += 1
        try:
            response = await handler(request)
            status = str(response.status)
            return response
        except web.HTTPException as exception:
            status = str(exception.status)
            raise
        except Exception:  # a bug: aiohttp answers it with a 500
            status = "500"
            raise
        finally:
            self._in_flight_count -= 1
            self._timer(route, status).observe(time.perf_counter() - started)
            if status == PENDING_STATUS:
                self._pending.inc()

    def _timer(self, route: str, status: str) -> Histogram:
        """The labelled child, looked up once per label pair rather than once per request."""
        timer = self._timers.get((route, status))
        if timer is None:
            timer = self._timers[route, status] = self._latency.labels(route, status)
        return timer


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    template = None if resource is None else resource.canonical
    if template is None or template == CATCH_ALL:
        return UNROUTED
    return f"{request.method} {template}"


def scrape(registry: CollectorRegistry) -> View:
    """The text format, rendered off the event loop: the lag sample may ask librdkafka."""
    async def view(request: web.Request) -> web.StreamResponse:
        text = await asyncio.to_thread(generate_latest, registry)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})
    return view


def operators_only(container: Container, view: View) -> View:
    """On the API's port: 401 without a valid token, 403 for anyone but an operator."""
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            if not caller(request, container.request_rules).is_operator:
                raise Forbidden("metrics are for operators")
        except WalletError as error:
            return error_answer(error, request)
        return await view(request)
    return guarded


def metrics_application(registry: CollectorRegistry) -> web.Application:
    """The WALLET_METRICS_PORT listener: /metrics alone, unauthenticated."""
    app = web.Application()
    app.router.add_get(METRICS_PATH, scrape(registry))
    return app


def instrument(app: web.Application, container: Container, open_sockets: Callable[[], int]) -> None:
    """Times every request of `app`, and serves /metrics on it for operators."""
    metrics = HttpMetrics(container.metrics.registry)
    metrics.watch_websockets(open_sockets)
    app.middlewares.append(metrics.middleware)
    app.router.add_get(METRICS_PATH, operators_only(container, scrape(metrics.registry)))
