"""The two configurations under test, started fresh for one run and always stopped.

- `Services`: `wallet services` (2 gateways, 2 consumers, 1 relay) on a
  Tansu broker, a redis-server and a PostgreSQL database, each started or
  made for this run. Every process reaches them through a proxy (`chaos/proxy.py`), so the
  nemesis can cut or delay each link. The broker advertises the proxy's
  address: a Kafka client connects to whatever the broker advertises after
  its first request, so a broker advertising itself would bypass the proxy.
  The supervisor restarts a child killed with -9; the broker and Redis are
  the run's own, restarted by the run.
- `Embedded`: one `wallet serve` on SQLite, which the run kills with -9 and
  restarts on the same data directory and port.

Neither ever touches the machine's shared Redis, nor a database it did not make.
"""

import asyncio
import functools
import json
import os
import signal
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
from wallet.bootstrap import DATABASE_FILE
from wallet_runtime.ports import free_port, free_port_run

from chaos.processes import (
    ADMIN_CONNECT_TIMEOUT_S,
    SERVER_START_TIMEOUT_S,
    Database,
    Process,
    Server,
    accepts,
    broker,
    healthy,
    redis_server,
    until,
)
from chaos.proxy import ProxyProcess
from chaos.records import Journal, JournalEntry

SERVICES_START_TIMEOUT_S = 180  # a migration and five children, each health-checked, on 2 cores
EMBEDDED_START_TIMEOUT_S = 60
LINKS = ("postgres", "redis", "kafka")  # each through its own proxy
BANNER_END = "  Stop with"  # the last line `wallet services` prints once every child is ready
# The chaos clients are a handful of users sending hundreds of requests a second: the
# per-user rate limit (50/s by default) would answer most of them 429 and test nothing else.
UNLIMITED_RATE = "10000"
WALLET_ENV = {"WALLET_RATE_LIMIT_USER_PER_S": UNLIMITED_RATE,
              "WALLET_RATE_LIMIT_USER_BURST": UNLIMITED_RATE,
              "WALLET_LOG_LEVEL": "WARNING"}  # a line per request would cost a core by itself


JOURNAL_ENTRIES = ("SELECT seq, transaction_id, account_id, currency, amount, balance_after "
                   "FROM entries ORDER BY seq")
JOURNAL_BALANCES = "SELECT account_id, currency, balance FROM balances"
# Only what moves money: a hold, a void or an expiry posts no entry, and the checker finds
# those in the holds' listings instead.
JOURNAL_COMMITTED = ("SELECT id FROM transactions WHERE status = 'committed' "
                     "AND kind IN ('deposit', 'payout', 'transfer', 'capture')")


def journal_of(rows: "tuple[list[Any], list[Any], list[Any]]") -> Journal:
    entries, balances, committed = rows
    return Journal([JournalEntry(int(seq), str(tx), str(account), str(currency), int(amount),
                                 int(after))
                    for seq, tx, account, currency, amount, after in entries],
                   {(str(a), str(c)): int(b) for a, c, b in balances},
                   {str(row[0]) for row in committed})


class Services:
    """`wallet services` behind proxies to its PostgreSQL, Redis and broker."""

    fault_kinds = ("kill_gateway", "kill_consumer", "kill_relay", "pause_consumer",
                   "restart_broker", "restart_redis", "cut_postgres", "delay_postgres",
                   "cut_redis", "delay_redis", "cut_kafka", "delay_kafka")
    name = "services"

    def __init__(self, data_dir: Path, secret: str) -> None:
        self.data_dir, self.secret = data_dir, secret
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.database = Database()
        self.links: ProxyProcess | None = None
        self.redis = redis_server(self.logs)
        self.broker: Server | None = None
        self.supervisor: Process | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.database.create)
        await self.redis.start()
        ports = {name: free_port() for name in LINKS}
        self.broker = broker(self.logs, ports["kafka"])
        await self.broker.start()
        self.links = ProxyProcess({"kafka": (ports["kafka"], self.broker.port),
                                   "postgres": (ports["postgres"], self.database.port),
                                   "redis": (ports["redis"], self.redis.port)},
                                  self.logs / "proxies.log")
        for port in ports.values():
            await until(functools.partial(accepts, port), SERVER_START_TIMEOUT_S,
                        f"the proxy did not listen on {port}")
        env = {**os.environ, **WALLET_ENV, "WALLET_DATA_DIR": str(self.data_dir),
               "WALLET_JWT_SECRET": self.secret, "WALLET_PORT": str(free_port_run(3)),
               "WALLET_DATABASE_URL": self.database.via(ports["postgres"]),
               "WALLET_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
               "WALLET_REDIS_NAMESPACE": f"chaos-{uuid.uuid4().hex[:8]}",
               "WALLET_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['kafka']}"}
        self.supervisor = Process("services", [_wallet(), "services"], env,
                                  self.data_dir / "services.out")
        self.supervisor.start()
        await until(self._announced, SERVICES_START_TIMEOUT_S, "wallet services was not ready")

    async def _announced(self) -> bool:
        assert self.supervisor is not None
        if not self.supervisor.alive:
            raise RuntimeError(f"wallet services exited: {self.supervisor.output()[-3000:]}")
        return BANNER_END in self.supervisor.output()

    def processes(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.data_dir / "services.json").read_text())
        return dict(state["processes"])

    def names(self, role: str) -> list[str]:
        return sorted(name for name in self.processes() if name.startswith(role))

    def pid(self, name: str) -> int:
        return int(self.processes()[name]["pid"])

    @property
    def gateways(self) -> list[str]:
        processes = self.processes()
        return [str(processes[name]["url"]) for name in self.names("gateway")]

    @property
    def websockets(self) -> list[str]:
        processes = self.processes()
        return [str(processes[name]["url"]).replace("http://", "ws://") + "/ws"
                for name in ("relay-1", self.names("gateway")[0])]

    def restarts(self) -> int:
        return sum(int(process["restarts"]) for process in self.processes().values())

    async def healthy(self) -> bool:
        checks = [healthy(url) for url in self.gateways]
        return all(await asyncio.gather(*checks))

    def journal(self) -> Journal:
        with psycopg.connect(self.database.url, connect_timeout=ADMIN_CONNECT_TIMEOUT_S) as db:
            return journal_of(tuple(db.execute(query).fetchall()  # type: ignore[arg-type]
                                    for query in (JOURNAL_ENTRIES, JOURNAL_BALANCES,
                                                  JOURNAL_COMMITTED)))

    async def stop(self) -> None:
        if self.links is not None:
            for link in LINKS:
                self.links.heal(link)
        if self.supervisor is not None:
            await asyncio.to_thread(self.supervisor.stop)
        if self.links is not None:
            self.links.stop()
        for server in (self.broker, self.redis):
            if server is not None:
                server.kill()
        await asyncio.to_thread(self.database.drop)


class Embedded:
    """One `wallet serve` on SQLite, killed and restarted by the run on its own data."""

    fault_kinds = ("kill_wallet", "pause_wallet")
    name = "embedded"

    def __init__(self, data_dir: Path, secret: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.url = ""
        env = {**os.environ, **WALLET_ENV, "WALLET_DATA_DIR": str(data_dir),
               "WALLET_JWT_SECRET": secret}
        for variable in ("WALLET_KAFKA_BOOTSTRAP", "WALLET_DATABASE_URL", "WALLET_REDIS_URL"):
            env.pop(variable, None)  # the embedded default: nothing outside the process
        self.env = env
        self.process: Process | None = None

    async def start(self) -> None:
        if self.process is None:
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.process = Process("wallet", [_wallet(), "serve"],
                                   {**self.env, "WALLET_PORT": str(port)},
                                   self.data_dir / "serve.log")
        self.process.start()
        await until(self.healthy, EMBEDDED_START_TIMEOUT_S, "wallet serve was not healthy")

    @property
    def gateways(self) -> list[str]:
        return [self.url]

    @property
    def websockets(self) -> list[str]:
        return [self.url.replace("http://", "ws://") + "/ws"]

    async def healthy(self) -> bool:
        assert self.process is not None
        if self.process.popen is not None and self.process.popen.poll() is not None \
                and self.process.popen.returncode != -signal.SIGKILL:
            raise RuntimeError(f"wallet serve exited: {self.process.output()[-3000:]}")
        return await healthy(self.url)

    def journal(self) -> Journal:
        path = self.data_dir / DATABASE_FILE
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return journal_of(tuple(db.execute(query).fetchall()
                                    for query in (JOURNAL_ENTRIES, JOURNAL_BALANCES,
                                                  JOURNAL_COMMITTED)))  # type: ignore[arg-type]

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)


def _wallet() -> str:
    return str(Path(sys.executable).parent / "wallet")
