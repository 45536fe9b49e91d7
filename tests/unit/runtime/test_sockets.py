"""wallet_runtime/sockets.py: the runtime's table of open websockets."""

import asyncio

from aiohttp import web
from wallet_runtime.sockets import Sockets


def test_a_shutdown_during_a_handshake_leaves_that_socket_to_its_handler() -> None:
    """It has no 101 yet, so there is nothing to close; its handler's way out removes it."""
    async def scenario() -> int:
        sockets = Sockets()
        sockets.open("mid-handshake", web.WebSocketResponse())
        await sockets.close_all()
        return len(sockets)

    assert asyncio.run(scenario()) == 1
