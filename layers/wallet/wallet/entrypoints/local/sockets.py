"""The runtime's open websockets, and a thread-safe way for the relay to write to them.

The relay runs on a pub/sub thread; sockets belong to the event loop. Each
socket gets a bounded outbox drained by its own task, so one slow client
cannot hold up the others: when its outbox is full it is disconnected.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

OUTBOX_DEPTH_MAX = 1_000
_CLOSE = "\x00close"


@dataclass
class _Socket:
    socket: web.WebSocketResponse
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_DEPTH_MAX))


class Sockets:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: dict[str, _Socket] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def open(self, connection_id: str, socket: web.WebSocketResponse) -> None:
        self._open[connection_id] = _Socket(socket)

    def close(self, connection_id: str) -> None:
        entry = self._open.pop(connection_id, None)
        if entry is not None:
            with contextlib.suppress(asyncio.QueueFull):
                entry.outbox.put_nowait(_CLOSE)

    async def close_all(self) -> None:
        """On shutdown: say "going away" to every client, which then reconnects elsewhere.

        Without it a graceful stop waits for every dashboard to hang up first.
        """
        for connection_id, entry in list(self._open.items()):
            await entry.socket.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")
            self.close(connection_id)  # and let its drain task end

    def send(self, connection_id: str, text: str) -> bool:
        """Called from any thread. False once the socket is gone or too far behind."""
        entry = self._open.get(connection_id)
        if entry is None or entry.socket.closed or self._loop is None:
            return False
        if entry.outbox.qsize() >= OUTBOX_DEPTH_MAX - 1:
            self._loop.call_soon_threadsafe(self.close, connection_id)
            return False
        self._loop.call_soon_threadsafe(self._enqueue, entry, text)
        return True

    def _enqueue(self, entry: _Socket, text: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            entry.outbox.put_nowait(text)

    async def drain(self, connection_id: str) -> None:
        """Writes a socket's outbox until it closes; runs as that socket's task."""
        entry = self._open[connection_id]
        while True:
            text = await entry.outbox.get()
            if text == _CLOSE or entry.socket.closed:
                await entry.socket.close()
                return
            await entry.socket.send_str(text)
