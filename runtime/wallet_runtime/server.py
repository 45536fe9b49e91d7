"""The local runtime: real HTTP and WebSocket traffic in, Lambda-style handler calls out.

Like `sam local`, but it also runs what AWS would run around the functions:
the event source mapping that feeds the consumer, and the pub/sub bridge that
feeds the relay. HTTP functions are awaited on the event loop itself: a
write waiting for its commit is a future there, not a parked thread, so the
requests in flight are bounded by WALLET_WAITERS_MAX alone. The relay's
handler and the health check, which block, still run on the thread pool.
"""

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from aiohttp import web
from wallet.bootstrap import Container
from wallet.domain.errors import MethodNotAllowed, NotFound, Unavailable, WalletError
from wallet.entrypoints.api import Action, admit, handle
from wallet.entrypoints.ws_event import FAN_OUT_SOURCE
from wallet.service_layer.ledger import EVENTS_CHANNEL

from wallet_runtime import websocket
from wallet_runtime.dashboard import Dashboard
from wallet_runtime.docs_page import render_docs_html
from wallet_runtime.edge import answered_at_the_edge
from wallet_runtime.events import credentials, error_answer, http_event, request_id, to_response
from wallet_runtime.functions import HTTP_ROUTES, RELAY, Handler
from wallet_runtime.http_metrics import instrument
from wallet_runtime.sockets import Sockets

API, WEBSOCKETS = "api", "websockets"  # the parts a runtime serves; each role picks some
View = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LocalRuntime:
    def __init__(self, container: Container, handlers: dict[str, Handler],
                 actions: dict[str, Action], executor: ThreadPoolExecutor, sockets: Sockets,
                 parts: frozenset[str] = frozenset((API, WEBSOCKETS)),
                 dashboard: Dashboard | None = None) -> None:
        self.container, self.handlers, self.executor = container, handlers, executor
        self.actions = actions
        self.sockets, self.parts, self.dashboard = sockets, parts, dashboard

    def application(self) -> web.Application:
        app = web.Application()  # one middleware only, the metrics': each wraps every handler
        app.on_response_prepare.append(_request_id)
        if API in self.parts:
            for method, path, name in HTTP_ROUTES:
                app.router.add_route(method, path, self._http(f"{method} {path}", name))
            app.router.add_get("/openapi.json", self._openapi)
            app.router.add_get("/docs", self._docs)
            if self.dashboard is not None:
                self.dashboard.add_routes(app)
        if WEBSOCKETS in self.parts:
            app.router.add_get("/ws", self._websocket)
            app.on_startup.append(self._start_relay)
            app.on_shutdown.append(self._close_sockets)
        instrument(app, self.container, self.sockets.__len__)  # /metrics: before the catch-all
        app.router.add_get("/healthz", self.health)
        app.router.add_route("*", "/{tail:.*}", self._unrouted)
        return app

    async def _invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.handlers[name], event, None)

    def _http(self, route_key: str, name: str) -> View:
        body_timeout_s, action = self.container.config.body_timeout_s, self.actions[name]

        async def view(request: web.Request) -> web.StreamResponse:
            try:
                event = await http_event(request, route_key, body_timeout_s)
            except WalletError as error:
                return answered_at_the_edge(error, request)
            return to_response(await handle(event, action))
        return view

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        return await websocket.serve(request, self.sockets, self._invoke)

    async def _start_relay(self, app: web.Application) -> None:
        self.sockets.bind(asyncio.get_running_loop())
        relay = self.handlers[RELAY]

        def fan_out(messages: Sequence[str]) -> None:
            relay({"source": FAN_OUT_SOURCE, "messages": list(messages)}, None)

        self.container.subscriptions.append(
            self.container.pubsub.subscribe(EVENTS_CHANNEL, fan_out))

    async def _close_sockets(self, app: web.Application) -> None:
        await self.sockets.close_all()

    async def health(self, request: web.Request) -> web.StreamResponse:
        """Ready means the ledger answers, and the consumer this process runs, if any, is not
        stalled: commands waiting with none applied for WALLET_LEDGER_STALL_S."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.container.store.ping)
            ledger_ready(self.container)
        except Unavailable as error:
            return error_answer(error, request)
        return web.json_response({"status": "ok"})

    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=_spec_text(), content_type="application/json")

    async def _docs(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=_docs_html(), content_type="text/html")

    async def _unrouted(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and API in self.parts:
            if request.path == "/":
                return web.Response(text=_LANDING, content_type="text/html")
            found = self.dashboard and self.dashboard.top_level_file(request.path)
            if found:
                return web.FileResponse(found)
        if API in self.parts and _under_wallet(request.path):
            return await self._unrouted_wallet(request)
        return error_answer(NotFound(f"no route {request.method} {request.path}"), request)

    async def _unrouted_wallet(self, request: web.Request) -> web.StreamResponse:
        """Authentication first, as on every route: a stranger learns no route's name. And
        rate limits, as on every route: a wrong path is no way around them."""
        try:
            await admit(credentials(request, self.container.request_rules),
                        self.container.throttle)
        except WalletError as error:
            return error_answer(error, request)
        known = [method for method, path, _ in HTTP_ROUTES if _matches(path, request.path)]
        if not known:
            return error_answer(NotFound(f"no route {request.method} {request.path}"), request)
        wrong_method = MethodNotAllowed(f"use {', '.join(known)} on {request.path}")
        response = error_answer(wrong_method, request)
        response.headers["Allow"] = ", ".join(known)
        return response


def ledger_ready(container: Container) -> None:
    """Raises Unavailable while this process's consumer is stalled past the bound."""
    stalled_s, bound_s = container.consumer.stalled_s(), container.config.ledger_stall_s
    if stalled_s > bound_s:
        raise Unavailable(f"the ledger has applied nothing for {int(stalled_s)} s while "
                          f"commands wait (bound: {bound_s} s)")


async def _request_id(request: web.Request, response: web.StreamResponse) -> None:
    """Routes the runtime serves itself carry a request id too, like every handler's."""
    if "X-Request-Id" not in response.headers:
        response.headers["X-Request-Id"] = request_id(request)


def _under_wallet(path: str) -> bool:
    return path.lstrip("/").partition("/")[0] == "wallet"  # `//wallet/x` is still ours


def _matches(template: str, path: str) -> bool:
    """Segment by segment, slashes and all: `/wallet/deposit/` is not `/wallet/deposit`."""
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(
        (p.startswith("{") and g != "") or p == g for p, g in zip(parts, given, strict=True))


@functools.cache
def _spec_text() -> str:
    return resources.files("wallet_runtime").joinpath("openapi.json").read_text()


@functools.cache
def _docs_html() -> str:
    """The spec changes only with a deploy: render its page once, not per request."""
    return render_docs_html(json.loads(_spec_text()))


_LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Virtual Wallet</title></head><body style="font-family:system-ui;margin:3rem">
<h1>Virtual Wallet</h1><p>The API is running. Read the <a href="/docs">API reference</a>
or fetch <a href="/openapi.json">openapi.json</a>.</p><p>The dashboard is not built:
<code>make run</code> builds it into <code>frontend/dist</code>.</p></body></html>"""
