"""The pieces a stack is made of: child processes, the run's own servers, a fresh database.

Each child writes its output to a file of its own; the nemesis kills one with
-9, and the run stops it with SIGTERM at the end. Redis and the broker listen
on a fixed port, so a restarted one keeps its address.
"""

import asyncio
import functools
import os
import signal
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql
from wallet_runtime.broker import tansu_path
from wallet_runtime.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
DATABASE_SERVER_URL = os.environ.get("WALLET_TEST_DATABASE_URL",
                                     "postgresql://postgres@127.0.0.1:5432/test")
SERVER_START_TIMEOUT_S = 15  # Redis or the broker: well under a second, unless the machine is busy
STOP_TIMEOUT_S = 90  # `wallet services` stops its children one by one, each within 15 s
READY_POLL_S = 0.1
HEALTH_TIMEOUT_S = 2.0
ADMIN_CONNECT_TIMEOUT_S = 5


class Process:
    """A child with its output in a file; killed with -9 by the nemesis, SIGTERM at the end."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, dict(env), log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=output,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number: int) -> None:
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(number)

    def kill(self) -> None:
        if self.popen is not None:
            self.signal(signal.SIGCONT)  # a stopped process dies only once it runs again
            self.signal(signal.SIGKILL)
            self.popen.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.popen is not None
        self.signal(signal.SIGCONT)
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


async def until(condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Bounded polling of an async condition; the error names what never happened."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"{what} within {timeout_s} s")
        await asyncio.sleep(READY_POLL_S)


async def accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as client:
            return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    """Redis or the broker: the run's own, on a fixed port, so a restart keeps the address."""

    def __init__(self, name: str, argv: list[str], port: int, log_dir: Path) -> None:
        self.port = port
        self.process = Process(name, argv, os.environ, log_dir / f"{name}.log")

    async def start(self) -> None:
        self.process.start()
        await until(functools.partial(accepts, self.port), SERVER_START_TIMEOUT_S,
                    f"{self.process.name} did not listen on {self.port}")

    def kill(self) -> None:
        self.process.kill()


def redis_server(log_dir: Path) -> Server:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    return Server("redis", argv, port, log_dir)


def broker(log_dir: Path, advertised_port: int) -> Server:
    """Tansu, advertising the proxy in front of it: every client reconnect goes through it."""
    port = free_port()
    argv = [str(tansu_path()), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port}"]
    return Server("broker", argv, port, log_dir)


class Database:
    """A database made for the run on the test server, dropped afterwards."""

    def __init__(self, server_url: str = DATABASE_SERVER_URL) -> None:
        self.server_url = server_url
        self.name = f"wallet_chaos_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(server_url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.port = parts.port or 5432

    def create(self) -> None:
        self._administer(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        self._administer(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(self.name)))

    def via(self, port: int) -> str:
        """The same database, reached through a proxy on `port`."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2
                                         else host))

    def _administer(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.server_url, autocommit=True,
                             connect_timeout=ADMIN_CONNECT_TIMEOUT_S) as admin:
            admin.execute(statement)
