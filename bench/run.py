"""`make bench`: start a fresh wallet, drive it with k6, print the figures.

By default the wallet is embedded: one `wallet serve` on SQLite. With
`--services` it is the split topology of `wallet services` (2 gateways,
2 consumers, a relay and a local Tansu broker) on PostgreSQL and Redis, in a
database and a Redis namespace made for this run and removed after it; k6
spreads its virtual users across both gateways.

Nothing here asserts on time: the numbers are for people to read and compare.
"""

import argparse
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
WALLETS = int(os.environ.get("WALLETS", "50"))
EMBEDDED_START_TIMEOUT_S = 30
SERVICES_START_TIMEOUT_S = 180  # a broker, a migration and five children, each health-checked
STOP_TIMEOUT_S = 90  # `wallet services` stops its children one by one, each within 15 s
PORT_SEARCH_ATTEMPTS_MAX = 50
SERVICES_PORTS = 3  # gateways on WALLET_PORT and +1, the relay on +2
DATABASE_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_CONNECT_TIMEOUT_S = 5
REDIS_DELETE_BATCH_KEYS = 500
TOKEN_TTL_S = 3600
BANNER_END = "  Stop with"  # the last line `wallet services` prints once every child is ready


def main() -> int:
    arguments = _parser().parse_args()
    k6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")
    if k6 is None:
        print("k6 is not installed; run `make bench`, which installs it", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix="wallet-bench-") as data_dir:
        stack = split_stack(secret, Path(data_dir), arguments.database_server) \
            if arguments.services else embedded_stack(secret, Path(data_dir))
        with stack as urls:
            print(f"k6 against {', '.join(urls)}", flush=True)
            return run_k6(k6, secret, urls, Path(data_dir) / "summary.json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", action="store_true",
                        help="bench the split topology (`wallet services`) instead of one "
                        "embedded process")
    parser.add_argument("--database-server", default=DATABASE_SERVER_URL, metavar="URL",
                        help="PostgreSQL server on which --services makes its database "
                        f"(default {DATABASE_SERVER_URL})")
    return parser


def run_k6(k6: str, secret: str, urls: list[str], summary: Path) -> int:
    tokens = {f"bench-{n}": mint(secret, f"bench-{n}", "user") for n in range(WALLETS)}
    tokens["operator"] = mint(secret, "operator", "operator")
    env = {**os.environ, "BASE_URLS": ",".join(urls), "TOKENS": json.dumps(tokens),
           "WALLETS": str(WALLETS)}
    returncode = subprocess.run(
        [k6, "run", "--quiet", f"--summary-export={summary}", str(ROOT / "bench" / "wallet.js")],
        env=env).returncode
    if summary.exists():
        print(figures(json.loads(summary.read_text())), flush=True)
    return returncode


def figures(summary: dict[str, Any]) -> str:
    """One line to paste into a comparison: throughput, latency percentiles, checks."""
    metrics = summary["metrics"]
    duration, checks = metrics["http_req_duration"], metrics["checks"]
    return (f"req/s {metrics['http_reqs']['rate']:.1f}  p50 {duration['med']:.1f} ms  "
            f"p95 {duration['p(95)']:.1f} ms  p99 {duration['p(99)']:.1f} ms  "
            f"checks {checks['passes']}/{checks['passes'] + checks['fails']}")


@contextmanager
def embedded_stack(secret: str, data_dir: Path) -> Iterator[list[str]]:
    env = {**os.environ, "WALLET_DATA_DIR": str(data_dir), "WALLET_PORT": "0",
           "WALLET_JWT_SECRET": secret, "WALLET_LOG_LEVEL": "WARNING"}
    with running([_wallet(), "serve"], env) as lines:
        line = wait_for(lines, lambda text: text.startswith("Wallet listening on "),
                        EMBEDDED_START_TIMEOUT_S)
        yield [line.split()[-1]]


@contextmanager
def split_stack(secret: str, data_dir: Path, server_url: str) -> Iterator[list[str]]:
    run_id = secrets.token_hex(6)
    namespace = f"wallet-bench-{run_id}"
    with fresh_database(server_url, f"wallet_bench_{run_id}") as database_url:
        env = {**os.environ, "WALLET_DATA_DIR": str(data_dir), "WALLET_JWT_SECRET": secret,
               "WALLET_LOG_LEVEL": "WARNING", "WALLET_PORT": str(free_port_run(SERVICES_PORTS)),
               "WALLET_DATABASE_URL": database_url, "WALLET_REDIS_URL": REDIS_URL,
               "WALLET_REDIS_NAMESPACE": namespace}
        env.pop("WALLET_KAFKA_BOOTSTRAP", None)  # always the run's own broker, never a shared one
        argv = [_wallet(), "services", "--broker-port", str(free_port_run(1))]
        try:
            with running(argv, env) as lines:
                wait_for(lines, lambda text: text.startswith(BANNER_END),
                         SERVICES_START_TIMEOUT_S)
                yield gateway_urls(data_dir)
        finally:
            forget_namespace(REDIS_URL, namespace)


def gateway_urls(data_dir: Path) -> list[str]:
    state = json.loads((data_dir / "services.json").read_text())
    return [process["url"] for name, process in sorted(state["processes"].items())
            if name.startswith("gateway")]


@contextmanager
def running(argv: list[str], env: dict[str, str]) -> Iterator["queue.Queue[str | None]"]:
    """Starts a process and hands over its stdout lines; a thread drains them, so it never
    blocks on a full pipe. SIGTERM on the way out, as Ctrl-C would."""
    process = subprocess.Popen(argv, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
    try:
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
            raise RuntimeError("the wallet exited before it was ready")
        if wanted(line):
            return line
    raise RuntimeError(f"the wallet was not ready after {timeout_s} s")


def free_port_run(length: int) -> int:
    """The first of `length` consecutive ports that are free right now."""
    for _ in range(PORT_SEARCH_ATTEMPTS_MAX):
        first = _free_port()
        if all(_is_free(first + offset) for offset in range(1, length)):
            return first
    raise RuntimeError(f"no {length} consecutive free ports found")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """An empty database for one run, dropped afterwards even when the run failed."""
    _administer(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        _administer(server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _administer(url: str, statement: sql.Composed) -> None:
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


def mint(secret: str, user: str, role: str) -> str:
    claims = {"sub": user, "role": role, "exp": int(time.time()) + TOKEN_TTL_S}
    return jwt.encode(claims, secret, algorithm="HS256")


def _wallet() -> str:
    return str(Path(sys.executable).parent / "wallet")


if __name__ == "__main__":
    sys.exit(main())
