"""`wallet services` (`make run-services`): the split topology on real engines, in one command.

It starts 2 gateways, 2 consumers and 1 relay as separate `wallet serve`
processes against Kafka, PostgreSQL and Redis, and supervises them: a child
that dies is restarted. Where WALLET_KAFKA_BOOTSTRAP is unset it also runs a
Kafka-compatible broker (Tansu, in memory) on 127.0.0.1:9092. PostgreSQL and
Redis default to this machine's servers, and the `wallet` database is created
when missing. Every child shares the data directory, hence the token secret.
A state file names every process and address, for tools and fault tests.
"""

import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.kafka_log import ensure_topics
from wallet.adapters.postgres_admin import create_database_if_missing
from wallet.config import Config
from wallet.domain.access import Principal

from wallet_runtime.broker import BROKER, broker_child
from wallet_runtime.children import Child, http_ready, log_says
from wallet_runtime.http_metrics import METRICS_PATH
from wallet_runtime.serve import CONSUMER_READY, METRICS_LISTENING

DATABASE_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/wallet"
REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"
BROKER_PORT_DEFAULT = 9092
WATCH_INTERVAL_S = 0.5
STATE_FILE = "services.json"
TOKEN_TTL_S = 12 * 3600
_METRICS_LISTENING = re.compile(re.escape(METRICS_LISTENING) + r" (http://\S+)")
# A consumer applies one batch at a time: one connection, and one for its health check. The
# gateways' and relay's pools stay as configured; five processes at the default 16 each came
# near PostgreSQL's default 100 connections before any other client.
CONSUMER_POOL_MAX = 2


def run_services(config: Config, gateways: int, consumers: int, broker_port: int) -> int:
    config = replace(config, database_url=config.database_url or DATABASE_URL_DEFAULT,
                     redis_url=config.redis_url or REDIS_URL_DEFAULT)
    logs_dir = config.data_dir / "logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    broker = None
    if config.kafka_bootstrap is None:
        broker = broker_child(broker_port, logs_dir)
        config = replace(config, kafka_bootstrap=f"127.0.0.1:{broker_port}")
    workers = _workers(config, gateways, consumers, logs_dir)
    children = ([broker] if broker else []) + workers
    try:
        _start(config, broker, workers)
        _announce(config, children)
        _watch(config, children)
    finally:
        for child in [*workers, *([broker] if broker else [])]:
            child.stop()
        (config.data_dir / STATE_FILE).unlink(missing_ok=True)
    return 0


def _start(config: Config, broker: Child | None, workers: list[Child]) -> None:
    if broker is not None:
        broker.start()
        broker.wait_ready()
    assert config.database_url is not None and config.kafka_bootstrap is not None
    create_database_if_missing(config.database_url)
    store = bootstrap.open_store(config)
    try:
        store.migrate()  # once, here, so the children start on a ready schema
    finally:
        store.close()
    kafka = bootstrap.kafka_cluster(config)
    assert kafka is not None
    ensure_topics(kafka, config.kafka_topic, config.log_partitions)
    for child in workers:
        child.start()
    for child in workers:
        child.wait_ready()
        _learn_metrics_url(child)  # printed before the child says it is ready


def _workers(config: Config, gateways: int, consumers: int, logs_dir: Path) -> list[Child]:
    environment = _environment(config)
    made = []
    for number in range(gateways):
        made.append(_wallet("gateway", number + 1, environment, logs_dir, config.port + number))
    made.append(_wallet("relay", 1, environment, logs_dir, config.port + gateways))
    made.extend(_wallet("consumer", number + 1, environment, logs_dir, None)
                for number in range(consumers))
    # Every child gets a metrics listener of its own, consumers included: on consecutive ports
    # from WALLET_METRICS_PORT when set, else on a free port each (see _learn_metrics_url).
    first = config.metrics_port or 0
    for step, child in enumerate(made):
        _give_metrics_port(child, config.metrics_host, first + step if first else 0)
    return made


def _give_metrics_port(child: Child, host: str, port: int) -> None:
    child.env = {**child.env, "WALLET_METRICS_PORT": str(port), "WALLET_METRICS_HOST": host}
    child.metrics_url = f"http://{host}:{port}{METRICS_PATH}" if port else None


def _learn_metrics_url(child: Child) -> None:
    """Reads the port a child picked from its log, and keeps it for the child's restarts.

    Free ports picked by the kernel, rather than ports counted on from WALLET_PORT: those
    lie in the ephemeral range, where any outgoing connection may hold one already.
    """
    said = _METRICS_LISTENING.findall(child.log_path.read_text(errors="replace"))
    if child.metrics_url is None and said:
        child.metrics_url = said[-1]
        port = child.metrics_url.rsplit(":", 1)[1].split("/", 1)[0]
        child.env = {**child.env, "WALLET_METRICS_PORT": port}


def _wallet(role: str, number: int, environment: dict[str, str], logs_dir: Path,
            port: int | None) -> Child:
    name = f"{role}-{number}"
    env = {**environment, "WALLET_PORT": str(port or 0)}
    if role == "consumer":
        env.setdefault("WALLET_DATABASE_POOL_MAX", str(CONSUMER_POOL_MAX))
    url = None if port is None else f"http://{environment.get('WALLET_HOST', '127.0.0.1')}:{port}"
    argv = [sys.executable, "-m", "wallet_runtime.cli", "serve", "--role", role]
    ready = http_ready if url else log_says(CONSUMER_READY)
    return Child(name, argv, env, logs_dir / f"{name}.log", ready, url)


def _environment(config: Config) -> dict[str, str]:
    assert config.kafka_bootstrap and config.database_url and config.redis_url
    return {**os.environ, "WALLET_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
            "WALLET_DATABASE_URL": config.database_url, "WALLET_REDIS_URL": config.redis_url,
            "WALLET_DATA_DIR": str(config.data_dir.resolve())}


def _announce(config: Config, children: list[Child]) -> None:
    token = JwtTokens(bootstrap.jwt_secret(config)).issue(
        Principal("operator", "operator"), TOKEN_TTL_S)
    state = _write_state(config, children)
    print("Wallet services running (split topology)", flush=True)
    for child in children:
        where = child.url or (config.kafka_bootstrap if child.name == BROKER else "")
        if child.name.startswith("relay") and child.url:
            where = child.url.replace("http://", "ws://") + "/ws?token=…"
        print(f"  {child.name:<12} pid {child.pid:<8} {where}", flush=True)
        if child.metrics_url:
            print(f"  {'':<12} metrics      {child.metrics_url}", flush=True)
    gateway = next((child.url for child in children if child.name.startswith("gateway")), None)
    if gateway:
        print(f"  Dashboard:      {gateway}/#token={token}", flush=True)
    print(f"  Operator token: {token}", flush=True)
    print(f"  State file:     {state}", flush=True)
    print(f"  Logs:           {config.data_dir / 'logs'}", flush=True)
    print("  Stop with Ctrl-C; a child that dies is restarted.", flush=True)


def _write_state(config: Config, children: list[Child]) -> Path:
    path = config.data_dir / STATE_FILE
    processes = {child.name: {"pid": child.pid, "url": child.url, "restarts": child.restarts,
                              "log": str(child.log_path), "metrics_url": child.metrics_url}
                 for child in children}
    state = {"kafka_bootstrap": config.kafka_bootstrap, "processes": processes}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(path)
    return path


def _watch(config: Config, children: list[Child]) -> None:
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    while not stopping.wait(WATCH_INTERVAL_S):
        revived = [child for child in children if child.revive_if_dead(time.monotonic())]
        for child in revived:
            print(f"  restarted {child.name} (pid {child.pid}, restart {child.restarts})",
                  flush=True)
        if revived:
            _write_state(config, children)
