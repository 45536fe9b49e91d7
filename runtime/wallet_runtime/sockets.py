"""The runtime's open websockets, and a thread-safe way for the relay to write to them.

The relay runs on a pub/sub thread; sockets belong to the event loop. Each
socket gets a bounded outbox drained by its own task, so one slow client
cannot hold up the others: when its outbox is full it is disconnected.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

log = logging.getLogger("wallet.relay")

OUTBOX_DEPTH_MAX = 1_000


@dataclass(frozen=True)
class _Close:
    code: int = WSCloseCode.OK
    reason: str = ""


@dataclass
class _Socket:
    socket: web.WebSocketResponse
    outbox: asyncio.Queue[str | _Close] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_DEPTH_MAX))


class Sockets:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: dict[str, _Socket] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Sockets open now (from just before `$connect` on): what the metrics report."""
        return len(self._open)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def open(self, connection_id: str, socket: web.WebSocketResponse) -> None:
        self._open[connection_id] = _Socket(socket)

    def close(self, connection_id: str, code: int = WSCloseCode.OK, reason: str = "") -> None:
        """Unsent messages are dropped: the close is the last thing the client gets."""
        entry = self._open.pop(connection_id, None)
        if entry is None:
            return
        while not entry.outbox.empty():
            entry.outbox.get_nowait()
        entry.outbox.put_nowait(_Close(code, reason))

    def hang_up(self, connection_id: str, code: int, reason: str) -> None:
        """Called from any thread: closes the socket from its loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.close, connection_id, code, reason)

    async def close_all(self) -> None:
        """On shutdown: say "going away" to every client, which then reconnects elsewhere.

        Without it a graceful stop waits for every dashboard to hang up first.
        """
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection_id, entry in list(self._open.items()):
            if not entry.socket.prepared:
                continue  # no 101 yet, so nothing to close: its handler removes it either way
            await entry.socket.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")
            self.close(connection_id)  # and let its drain task end

    def keep_sweeping(self, sweep: Callable[[], Awaitable[object]], interval_s: float) -> None:
        """Runs `sweep` every `interval_s` until shutdown; a second call changes nothing."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(
                _every(sweep, interval_s), name="websocket-expiry-sweep")

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
            item = await entry.outbox.get()
            if isinstance(item, _Close) or entry.socket.closed:
                close = item if isinstance(item, _Close) else _Close()
                await entry.socket.close(code=close.code, message=close.reason.encode())
                return
            await entry.socket.send_str(item)


async def _every(action: Callable[[], Awaitable[object]], interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except Exception:  # a failed sweep is retried at the next tick, never fatal
            log.exception("websocket expiry sweep failed")
