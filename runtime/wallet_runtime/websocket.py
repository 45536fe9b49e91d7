"""One websocket session in the local runtime: what API Gateway does around the relay in AWS.

It upgrades only after the relay's `$connect` said yes (a bad token, or a
full cap, is answered before the upgrade with the relay's JSON error), hands
each client frame to `$default`, and starts the schedule that asks the relay
to hang up on sockets whose token expired.

A `$connect` that says yes takes one of the user's slots, so from then on
every way out says `$disconnect`: a client that leaves before its 101, as
well as a socket that closes. A request that is no websocket handshake at
all is refused at the edge before the relay hears of it.
"""

import asyncio
import base64
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from wallet.domain.errors import BadRequest
from wallet.entrypoints.ws_event import EXPIRY_SOURCE

from wallet_runtime.edge import answered_at_the_edge
from wallet_runtime.events import to_response, websocket_event
from wallet_runtime.functions import RELAY
from wallet_runtime.sockets import Sockets

log = logging.getLogger("wallet.relay")

WEBSOCKET_HEARTBEAT_S = 30
# Clients only ping. A frame over this is closed with 1009 before it is buffered in full;
# "[" * 100000, which the relay answers with an error, still fits.
WEBSOCKET_MESSAGE_BYTES_MAX = 128 * 1024
EXPIRY_SWEEP_INTERVAL_S = 1.0  # how late, at most, a socket is closed after its token's exp
DRAIN_TIMEOUT_S = 5
NOT_A_HANDSHAKE = ("GET /ws upgrades to a websocket: send Upgrade: websocket, Connection: "
                   "Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key")

Invoke = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def serve(request: web.Request, sockets: Sockets, invoke: Invoke) -> web.StreamResponse:
    # compress=False: permessage-deflate keeps a zlib window per socket (about 95 KB each)
    socket = web.WebSocketResponse(heartbeat=WEBSOCKET_HEARTBEAT_S, compress=False,
                                   max_msg_size=WEBSOCKET_MESSAGE_BYTES_MAX)
    if not socket.can_prepare(request).ok:  # refused before `$connect`, so it takes no slot
        return answered_at_the_edge(BadRequest(NOT_A_HANDSHAKE), request)
    connection_id = str(uuid.uuid4())
    sockets.open(connection_id, socket)  # before $connect, so no event is missed
    drain: asyncio.Task[None] | None = None
    admitted = True  # until `$connect` says no: one that raised may have taken a slot already
    try:
        connected = await invoke(RELAY, _connect_event(request, connection_id))
        admitted = connected["statusCode"] == 200
        if not admitted:
            return to_response({**connected, "headers": connected.get("headers") or {}})
        drain = await _upgrade(request, socket, connection_id, sockets, invoke)
        if drain is None:  # the client has gone: aiohttp fails to send this, and lets it be
            return web.Response()
        await _converse(socket, connection_id, sockets, invoke)
        return socket
    finally:
        sockets.close(connection_id)  # and a drain task writes the close frame, then ends
        if admitted:
            await invoke(RELAY, websocket_event("$disconnect", connection_id))
        if drain is not None:
            await asyncio.wait_for(drain, timeout=DRAIN_TIMEOUT_S)


def _connect_event(request: web.Request, connection_id: str) -> dict[str, Any]:
    query = {"token": request.query.get("token", "")}
    return websocket_event("$connect", connection_id, request.remote or "",
                           queryStringParameters=query)


async def _upgrade(request: web.Request, socket: web.WebSocketResponse, connection_id: str,
                   sockets: Sockets, invoke: Invoke) -> asyncio.Task[None] | None:
    """Sends the 101 and starts the socket's drain task; None when the client left first."""
    sockets.keep_sweeping(lambda: invoke(RELAY, {"source": EXPIRY_SOURCE}),
                          EXPIRY_SWEEP_INTERVAL_S)
    try:
        await socket.prepare(request)
    except ConnectionError:  # the client's doing, and nobody is left to answer: no traceback
        log.warning("websocket handshake dropped", extra={"connection": connection_id})
        return None
    return asyncio.create_task(sockets.drain(connection_id))


async def _converse(socket: web.WebSocketResponse, connection_id: str, sockets: Sockets,
                    invoke: Invoke) -> None:
    """Every client frame goes to `$default`; binary ones base64-encoded, as API Gateway does."""
    async for message in socket:
        if message.type == WSMsgType.TEXT:
            body = {"body": message.data}
        elif message.type == WSMsgType.BINARY:
            body = {"body": base64.b64encode(message.data).decode(), "isBase64Encoded": True}
        else:
            continue
        reply = await invoke(RELAY, websocket_event("$default", connection_id, **body))
        sockets.send(connection_id, reply.get("body") or "{}")
