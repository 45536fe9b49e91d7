"""`wallet serve`: the wallet, or one part of it, in this process.

`--role all` (what `make run` starts) is the whole wallet on whatever engines
the config names, the embedded ones by default. The other roles split it, as
a real deployment does: `gateway` answers the HTTP API and serves the
dashboard with its websocket, `consumer` applies the command log to the
ledger and, as `all` does, sweeps due holds into the log every second; `relay`
is a websocket server alone. Each prints where it listens once ready, and on
SIGINT or SIGTERM stops taking work, lets the consumer finish its batch
(bounded), and closes.
"""

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from wallet import bootstrap, logs
from wallet.adapters.memory_connections import MemoryConnections
from wallet.config import Config
from wallet.domain.access import Principal

from wallet_runtime.dashboard import Dashboard, find_dashboard
from wallet_runtime.edge import Edge, EdgeLimits, EdgeRunner
from wallet_runtime.functions import (
    CONSUMER,
    Handler,
    functions_dir,
    load_actions,
    load_handlers,
)
from wallet_runtime.http_metrics import METRICS_PATH, metrics_application
from wallet_runtime.poller import Poller
from wallet_runtime.process_limits import (
    ACCEPT_BACKLOG,
    BoundedLoopErrors,
    connections_max,
    raise_file_limit,
)
from wallet_runtime.server import API, WEBSOCKETS, LocalRuntime
from wallet_runtime.sockets import Sockets
from wallet_runtime.sweeper import SweepLoop

BANNER_TOKEN_TTL_S = 12 * 3600
DRAIN_TIMEOUT_S = 10
PARTS = {
    "all": frozenset((API, WEBSOCKETS)),
    "gateway": frozenset((API, WEBSOCKETS)),  # the dashboard it serves needs its websocket
    "relay": frozenset((WEBSOCKETS,)),
    "consumer": frozenset(),
}
CONSUMING_ROLES = ("all", "consumer")
CONSUMER_READY = "Wallet consumer running"  # printed once it joined its group
JOIN_TIMEOUT_MS = 30_000  # a group join takes about half the session timeout
METRICS_LISTENING = "Wallet metrics on"


def role_problem(config: Config, role: str) -> str | None:
    """Why this config cannot run this role on its own, or None when it can."""
    if role == "all":
        return None
    if config.kafka_bootstrap is None and role != "relay":
        return f"--role {role} needs WALLET_KAFKA_BOOTSTRAP: the in-process log is private " \
            "to one process"
    if config.redis_url is None:
        return f"--role {role} needs WALLET_REDIS_URL: outcomes and events cross processes " \
            "through Redis"
    return None


def serve(config: Config, role: str = "all") -> None:
    assert role_problem(config, role) is None, "the CLI checks the role first"
    logs.configure(config.log_level)
    sockets = Sockets()
    container = bootstrap.build(config, role=role, connections=MemoryConnections(
        sockets.send, sockets.hang_up))
    bootstrap.install(container)
    handlers = load_handlers(functions_dir())
    executor = ThreadPoolExecutor(config.handler_threads, thread_name_prefix="handler")
    poller, sweeps = start_consuming(container, handlers[CONSUMER]) if role in CONSUMING_ROLES \
        else (None, None)
    built = find_dashboard(functions_dir().parent)
    dashboard = Dashboard(built) if built is not None else None
    runtime = LocalRuntime(container, handlers, load_actions(functions_dir()), executor, sockets,
                           PARTS[role], dashboard)
    try:
        asyncio.run(_listen(runtime, config, role))
    finally:
        if sweeps is not None:
            sweeps.stop()  # first: its expiries then reach the log the poller drains
        if poller is not None:
            poller.stop(DRAIN_TIMEOUT_S)
        executor.shutdown(wait=False, cancel_futures=True)
        container.close()
        bootstrap.install(None)


def start_consuming(
    container: bootstrap.Container, consumer: Handler
) -> tuple[Poller, SweepLoop]:
    """The poller that feeds the consumer, and the sweeper that asks for due holds' expiry:
    a wallet with no other traffic still sees its holds expire."""
    poller = Poller(container.source, consumer, container.config.batch_size_max,
                    container.dead_letters)
    container.metrics.watch_lag(container.source.lag)
    container.metrics.watch_stall(container.consumer.stalled_s)
    poller.start()
    sweeps = SweepLoop(container.sweep_holds)
    sweeps.start()
    return poller, sweeps


async def _listen(runtime: LocalRuntime, config: Config, role: str) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(BoundedLoopErrors())
    metrics_runner = None  # first, so its line is printed before /healthz can answer
    if config.metrics_port is not None:
        metrics_runner = await _metrics_listener(runtime, config)
    runner = None
    if runtime.parts:
        runner = await _listening(runtime.application(), config, config.host, config.port,
                                  "WALLET_PORT")
    if role == "consumer":  # ready means in the group, so say so only once it is
        await asyncio.to_thread(runtime.container.source.ready, JOIN_TIMEOUT_MS)
    _banner(runtime, role, config, runner.addresses[0][1] if runner else None)
    stopping = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await stopping.wait()
    for running in (runner, metrics_runner):
        if running is not None:
            await running.cleanup()


async def _listening(app: web.Application, config: Config, host: str, port: int,
                     variable: str) -> EdgeRunner:
    """`app` served on host:port through the edge, or a clean exit naming the variable to set."""
    cap = connections_max(config.connections_max, raise_file_limit())
    runner = EdgeRunner(app, Edge(EdgeLimits.of(config, cap)))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=ACCEPT_BACKLOG).start()
    except OSError as error:
        await runner.cleanup()
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror}; "
                         f"set {variable} to a free port") from error
    return runner


async def _metrics_listener(runtime: LocalRuntime, config: Config) -> web.AppRunner:
    """The unauthenticated /metrics and /healthz, on WALLET_METRICS_HOST:PORT, printed before
    the banner: a consumer, which serves no API, is probed for readiness here."""
    assert config.metrics_port is not None
    app = metrics_application(runtime.container.metrics.registry)
    app.router.add_get("/healthz", runtime.health)
    runner = await _listening(app, config, config.metrics_host, config.metrics_port,
                              "WALLET_METRICS_PORT")
    port = runner.addresses[0][1]
    _say(f"{METRICS_LISTENING} http://{config.metrics_host}:{port}{METRICS_PATH}")
    return runner


def _banner(runtime: LocalRuntime, role: str, config: Config, port: int | None) -> None:
    url = f"http://{config.host}:{port}"
    if role == "consumer":
        _say(f"{CONSUMER_READY} in group {config.kafka_group} on {config.kafka_topic}")
        return
    if role == "relay":
        _say(f"Wallet relay listening on ws://{config.host}:{port}/ws?token=…")
        return
    token = runtime.container.tokens.issue(Principal("operator", "operator"), BANNER_TOKEN_TTL_S)
    _say(f"Wallet listening on {url}")
    _say(f"  API docs:       {url}/docs")
    if WEBSOCKETS in runtime.parts:
        _say(f"  Dashboard:      {url}/#token={token}")
    _say(f"  Operator token: {token}")
    _say("  (token valid 12 h; make more with: wallet token <userId> [--role operator])")


def _say(line: str) -> None:
    print(line, flush=True)
