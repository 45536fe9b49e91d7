"""One websocket session in the local runtime: what API Gateway does around the relay in AWS.

It upgrades only after the relay's `$connect` said yes (a bad token, or a
full cap, is answered before the upgrade with the relay's JSON error), hands
each client frame to `$default`, and starts the schedule that asks the relay
to hang up on sockets whose token expired.
"""

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from wallet.entrypoints.ws_event import EXPIRY_SOURCE

from wallet_runtime.events import to_response, websocket_event
from wallet_runtime.functions import RELAY
from wallet_runtime.sockets import Sockets

WEBSOCKET_HEARTBEAT_S = 30
# Clients only ping. A frame over this is closed with 1009 before it is buffered in full;
# "[" * 100000, which the relay answers with an error, still fits.
WEBSOCKET_MESSAGE_BYTES_MAX = 128 * 1024
EXPIRY_SWEEP_INTERVAL_S = 1.0  # how late, at most, a socket is closed after its token's exp
DRAIN_TIMEOUT_S = 5

Invoke = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def serve(request: web.Request, sockets: Sockets, invoke: Invoke) -> web.StreamResponse:
    connection_id = str(uuid.uuid4())
    # compress=False: permessage-deflate keeps a zlib window per socket (about 95 KB each)
    socket = web.WebSocketResponse(heartbeat=WEBSOCKET_HEARTBEAT_S, compress=False,
                                   max_msg_size=WEBSOCKET_MESSAGE_BYTES_MAX)
    sockets.open(connection_id, socket)  # before $connect, so no event is missed
    query = {"token": request.query.get("token", "")}
    connected = await invoke(RELAY, websocket_event(
        "$connect", connection_id, request.remote or "", queryStringParameters=query))
    if connected["statusCode"] != 200:
        sockets.close(connection_id)
        return to_response({**connected, "headers": connected.get("headers") or {}})
    sockets.keep_sweeping(lambda: invoke(RELAY, {"source": EXPIRY_SOURCE}),
                          EXPIRY_SWEEP_INTERVAL_S)
    await socket.prepare(request)
    drain = asyncio.create_task(sockets.drain(connection_id))
    try:
        await _converse(socket, connection_id, sockets, invoke)
    finally:
        sockets.close(connection_id)
        await invoke(RELAY, websocket_event("$disconnect", connection_id))
        await asyncio.wait_for(drain, timeout=DRAIN_TIMEOUT_S)
    return socket


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
