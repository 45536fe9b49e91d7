"""The processes `make bench` measures: started fresh, handed over as URLs, always stopped.

Every stack runs in a data directory, a database and a Redis namespace made
for this run and removed after it, so runs never see each other's data.
"""

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql
from wallet_runtime.ports import free_port_run

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_START_TIMEOUT_S = 30
SERVICES_START_TIMEOUT_S = 180  # a broker, a migration and five children, each health-checked
STOP_TIMEOUT_S = 90  # `wallet services` stops its children one by one, each within 15 s
REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_CONNECT_TIMEOUT_S = 5
REDIS_DELETE_BATCH_KEYS = 500
# The scenarios drive a few hot wallets far past a user's default 50/s: the bench measures the
# wallet with its buckets in the path but set far above the load, so none ever refuses.
RATE_LIMITS = {"WALLET_RATE_LIMIT_USER_PER_S": "1000000",
               "WALLET_RATE_LIMIT_USER_BURST": "10000000"}
BANNER_END = "  Stop with"  # the last line `wallet services` prints once every child is ready
HELLO_READY = "Hello listening on "


@dataclass(frozen=True)
class Stack:
    """Where to send load (every gateway), where to listen for events, and the serving pids."""

    urls: list[str]
    websocket_url: str
    pids: list[int]


@contextmanager
def hello_stack() -> Iterator[Stack]:
    env = {**os.environ, "WALLET_PORT": "0"}
    with running([sys.executable, str(ROOT / "bench" / "hello.py")], env) as (process, lines):
        line = wait_for(lines, lambda text: text.startswith(HELLO_READY),
                        EMBEDDED_START_TIMEOUT_S)
        yield Stack([line.split()[-1]], "", [process.pid])


@contextmanager
def embedded_stack(secret: str, data_dir: Path,
                   extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    env = {**os.environ, "WALLET_DATA_DIR": str(data_dir), "WALLET_PORT": "0",
           "WALLET_JWT_SECRET": secret, **RATE_LIMITS, **(extra_env or {})}
    with running([_wallet(), "serve"], env, data_dir / "serve.log") as (process, lines):
        line = wait_for(lines, lambda text: text.startswith("Wallet listening on "),
                        EMBEDDED_START_TIMEOUT_S)
        url = line.split()[-1]
        yield Stack([url], url.replace("http://", "ws://") + "/ws", [process.pid])


@contextmanager
def split_stack(secret: str, data_dir: Path, server_url: str,
                consumers: int = 2) -> Iterator[Stack]:
    """`wallet services`: 2 gateways, `consumers` consumers, a relay and a local broker."""
    run_id = secrets.token_hex(6)
    namespace = f"wallet-bench-{run_id}"
    with fresh_database(server_url, f"wallet_bench_{run_id}") as database_url:
        env = {**os.environ, "WALLET_DATA_DIR": str(data_dir),
               "WALLET_JWT_SECRET": secret, "WALLET_PORT": str(free_port_run(3)),
               "WALLET_DATABASE_URL": database_url, "WALLET_REDIS_URL": REDIS_URL,
               "WALLET_REDIS_NAMESPACE": namespace, **RATE_LIMITS}
        env.pop("WALLET_KAFKA_BOOTSTRAP", None)  # always the run's own broker, never a shared one
        argv = [_wallet(), "services", "--consumers", str(consumers),
                "--broker-port", str(free_port_run(1))]
        try:
            with running(argv, env, data_dir / "services.log") as (_, lines):
                wait_for(lines, lambda text: text.startswith(BANNER_END),
                         SERVICES_START_TIMEOUT_S)
                yield services_state(data_dir)
        finally:
            forget_namespace(REDIS_URL, namespace)


def services_state(data_dir: Path) -> Stack:
    processes = json.loads((data_dir / "services.json").read_text())["processes"]
    gateways = [processes[name] for name in sorted(processes) if name.startswith("gateway")]
    relay = processes["relay-1"]["url"].replace("http://", "ws://") + "/ws"
    return Stack([gateway["url"] for gateway in gateways], relay,
                 [process["pid"] for process in processes.values()])


@contextmanager
def running(argv: list[str], env: dict[str, str], log_path: Path | None = None) -> Iterator[
        tuple["subprocess.Popen[str]", "queue.Queue[str | None]"]]:
    """Starts a process and hands over its stdout lines; a thread drains them, so it never
    blocks on a full pipe. SIGTERM on the way out, as Ctrl-C would.

    Its stderr (a wallet's JSON log, a line per request at the default level) goes to
    `log_path`, not into the bench's own output.
    """
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)  # the wallet makes its data dir later
    log = subprocess.DEVNULL if log_path is None else log_path.open("w")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=log)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
    try:
        yield process, lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not isinstance(log, int):
            log.close()


def _drain(process: "subprocess.Popen[str]", lines: "queue.Queue[str | None]") -> None:
    assert process.stdout is not None, "started with stdout=PIPE"
    for line in process.stdout:
        lines.put(line)
    lines.put(None)  # end of output: the process is gone


def wait_for(lines: "queue.Queue[str | None]", wanted: Callable[[str], bool],
             timeout_s: float) -> str:
    """The first line of output that `wanted` accepts, or an error naming why none came."""
    deadline = time.monotonic() + timeout_s
    while (remaining_s := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining_s)
        except queue.Empty:
            break
        if line is None:
            raise RuntimeError("the process exited before it was ready")
        if wanted(line):
            return line.strip()
    raise RuntimeError(f"the process was not ready after {timeout_s} s")


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """An empty database for one run, dropped afterwards even when the run failed."""
    administer(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        administer(server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def administer(url: str, statement: sql.Composed) -> None:
    """CREATE and DROP DATABASE cannot run inside a transaction: autocommit."""
    with psycopg.connect(url, autocommit=True, connect_timeout=ADMIN_CONNECT_TIMEOUT_S) as admin:
        admin.execute(statement)


def forget_namespace(url: str, namespace: str) -> None:
    """The balance cache outlives the processes; a run leaves none of its keys behind."""
    client = redis.Redis.from_url(url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{namespace}:*", count=REDIS_DELETE_BATCH_KEYS):
            batch.append(key)
            if len(batch) == REDIS_DELETE_BATCH_KEYS:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


def _wallet() -> str:
    return str(Path(sys.executable).parent / "wallet")
