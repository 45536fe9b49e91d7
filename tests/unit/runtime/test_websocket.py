"""wallet_runtime/websocket.py: a slot that `$connect` took is given back on every way out."""

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from wallet_runtime import websocket
from wallet_runtime.sockets import Sockets

HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": "c2l4dGVlbiBieXRlcyBvaw==", "Sec-WebSocket-Version": "13"}


class RelayHandler:
    """Stands in for the relay's handler: records each route, and answers `$connect` as told."""

    def __init__(self, connect_status: int = 200, connect_fails: bool = False,
                 client_leaves_during_connect: bool = False) -> None:
        self.routes: list[str] = []
        self.connect_status, self.connect_fails = connect_status, connect_fails
        self.client_leaves = client_leaves_during_connect
        self.request: web.Request | None = None

    async def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        route = str(event.get("requestContext", {}).get("routeKey") or event.get("source"))
        self.routes.append(route)
        if route != "$connect":
            return {"statusCode": 200}
        if self.client_leaves and self.request is not None:
            self.request.protocol.transport = None  # what aiohttp sees once the TCP is gone
        if self.connect_fails:
            raise RuntimeError("the relay failed after it took the slot")
        return {"statusCode": self.connect_status, "body": "{}"}


def serve(relay: RelayHandler, headers: dict[str, str]) -> tuple[web.StreamResponse, Sockets]:
    sockets = Sockets()

    async def scenario() -> web.StreamResponse:
        relay.request = make_mocked_request("GET", "/ws?token=t", headers)
        return await websocket.serve(relay.request, sockets, relay.invoke)

    return asyncio.run(scenario()), sockets


def test_a_request_that_is_no_handshake_never_reaches_the_relay(
        caplog: pytest.LogCaptureFixture) -> None:
    relay = RelayHandler()
    with caplog.at_level(logging.INFO):
        response, sockets = serve(relay, {})
    assert response.status == 400 and relay.routes == [] and len(sockets) == 0
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "request refused at the edge")]


def test_a_client_gone_before_its_101_gives_its_slot_back_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    relay = RelayHandler(client_leaves_during_connect=True)
    with caplog.at_level(logging.INFO):
        _, sockets = serve(relay, HANDSHAKE)
    assert relay.routes == ["$connect", "$disconnect"] and len(sockets) == 0
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "websocket handshake dropped", None)]


def test_a_refused_connect_took_nothing_to_give_back() -> None:
    relay = RelayHandler(connect_status=429)
    response, sockets = serve(relay, HANDSHAKE)
    assert response.status == 429 and relay.routes == ["$connect"] and len(sockets) == 0


def test_a_connect_that_failed_after_taking_the_slot_still_gives_it_back() -> None:
    relay = RelayHandler(connect_fails=True)
    with pytest.raises(RuntimeError):
        serve(relay, HANDSHAKE)
    assert relay.routes == ["$connect", "$disconnect"]
