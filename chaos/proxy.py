"""A TCP proxy the run controls: the link between the wallet's processes and one server.

The wallet's processes are pointed at the proxy's port instead of the
server's, so the nemesis can break that link without touching the server:

- `cut()` hangs up every forwarded connection and turns new ones away at
  once, as a broken network would, until `heal()`;
- `delay(s)` holds every chunk for `s` seconds in each direction, in order,
  as a slow or congested network would.

The proxy runs on the run's event loop; each connection is two pumps, one per
direction, each with a bounded queue of chunks in flight.
"""

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

CHUNK_BYTES_MAX = 65_536
CHUNKS_IN_FLIGHT_MAX = 256  # per direction: a delayed link holds this much, then pushes back
LISTEN_BACKLOG = 1024


class TcpProxy:
    def __init__(self, name: str, target_port: int) -> None:
        self.name, self.target_port = name, target_port
        self.port = 0  # chosen by the kernel when started
        self.delay_s = 0.0
        self._cut = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> "TcpProxy":
        self._server = await asyncio.start_server(self._link, "127.0.0.1", port,
                                                  backlog=LISTEN_BACKLOG)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._writers):
            _abort(writer)

    def delay(self, seconds: float) -> None:
        assert seconds >= 0, "a delay is a duration"
        self.delay_s = seconds

    def heal(self) -> None:
        self._cut, self.delay_s = False, 0.0

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            _abort(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port)
        except OSError:
            _abort(writer)
            return
        self._writers.update((writer, upstream_writer))
        pumps = [self._spawn(self._pump(reader, upstream_writer, writer)),
                 self._spawn(self._pump(upstream_reader, writer, upstream_writer))]
        await asyncio.gather(*pumps, return_exceptions=True)
        self._writers.difference_update((writer, upstream_writer))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    other: asyncio.StreamWriter) -> None:
        """Reads chunks as they come, and writes each once its delay (taken on arrival) is due."""
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(CHUNKS_IN_FLIGHT_MAX)
        writing = self._spawn(_deliver(chunks, sink))
        try:
            while chunk := await source.read(CHUNK_BYTES_MAX):
                await chunks.put((time.monotonic() + self.delay_s, chunk))
            await chunks.put((0.0, b""))  # end of stream, in order behind what is in flight
            await writing
            sink.close()  # the peer hung up: pass that on, after what was in flight
        except (OSError, asyncio.CancelledError):
            _abort(sink)
            _abort(other)
            raise
        finally:
            writing.cancel()


async def _deliver(chunks: "asyncio.Queue[tuple[float, bytes]]",
                   sink: asyncio.StreamWriter) -> None:
    while True:
        due, chunk = await chunks.get()
        if not chunk:
            return
        if (wait_s := due - time.monotonic()) > 0:
            await asyncio.sleep(wait_s)
        sink.write(chunk)
        await sink.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """abort(), not close(): a cut link resets at once, it does not flush politely."""
    with contextlib.suppress(Exception):
        writer.transport.abort()
