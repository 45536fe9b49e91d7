"""A TCP proxy the run controls: the link between the wallet's processes and one server.

The wallet's processes are pointed at the proxy's port instead of the
server's, so the nemesis can break that link without touching the server:

- `cut()` hangs up every forwarded connection and turns new ones away at
  once, as a broken network would, until `heal()`;
- `delay(s)` holds every chunk for `s` seconds in each direction, in order,
  as a slow or congested network would.

The proxies run in a process of their own (`ProxyProcess`, `python -m
chaos.proxy`), told what to do one line at a time; each connection is two
pumps, one per direction, each with a bounded queue of chunks in flight.
"""

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

CHUNK_BYTES_MAX = 65_536
CHUNKS_IN_FLIGHT_MAX = 256  # per direction: a delayed link holds this much, then pushes back
LISTEN_BACKLOG = 1024
PROCESS_STOP_TIMEOUT_S = 10


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


class ProxyProcess:
    """The proxies in a process of their own, driven by one line per command on its stdin.

    Every query a wallet process makes crosses a proxy; on the run's own event loop, it
    would wait behind the clients' work, and the link would be slow for no fault at all.
    """

    def __init__(self, targets: Mapping[str, tuple[int, int]], log: Path) -> None:
        self.ports = {name: listen for name, (listen, _) in targets.items()}
        argv = [sys.executable, "-m", "chaos.proxy",
                *(f"{name}={listen}:{target}" for name, (listen, target) in targets.items())]
        with log.open("ab") as output:
            self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=output,
                                             stderr=subprocess.STDOUT,
                                             cwd=Path(__file__).resolve().parents[1])

    def cut(self, name: str) -> None:
        self._say(f"cut {name}")

    def delay(self, name: str, seconds: float) -> None:
        self._say(f"delay {name} {seconds:.3f}")

    def heal(self, name: str) -> None:
        self._say(f"heal {name}")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(PROCESS_STOP_TIMEOUT_S)

    def _say(self, line: str) -> None:
        assert self._process.stdin is not None and self._process.poll() is None, \
            "the proxies are running"
        self._process.stdin.write(f"{line}\n".encode())
        self._process.stdin.flush()


async def serve(targets: Mapping[str, tuple[int, int]]) -> None:
    proxies = {name: await TcpProxy(name, target).start(listen)
               for name, (listen, target) in targets.items()}
    print("proxies ready", flush=True)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command, name, *argument = line.decode().split()
        proxy = proxies[name]
        if command == "cut":
            proxy.cut()
        elif command == "delay":
            proxy.delay(float(argument[0]))
        else:
            proxy.heal()


def _targets(arguments: list[str]) -> dict[str, tuple[int, int]]:
    """`name=listen:target` each, as ProxyProcess writes them."""
    parsed = {}
    for argument in arguments:
        name, _, ports = argument.partition("=")
        listen, _, target = ports.partition(":")
        parsed[name] = (int(listen), int(target))
    return parsed


if __name__ == "__main__":
    asyncio.run(serve(_targets(sys.argv[1:])))  # ends when its stdin closes: the run is over
