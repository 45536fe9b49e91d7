"""`wallet serve`: the whole wallet in one process, on the embedded engines.

It prints the URL and a ready-to-use operator token once it listens, and on
SIGINT or SIGTERM it stops taking requests, lets the consumer finish what the
log holds (bounded), and closes the database.
"""

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from wallet import bootstrap, logs
from wallet.adapters.memory_connections import MemoryConnections
from wallet.config import Config
from wallet.domain.access import Principal
from wallet.entrypoints.local.functions import CONSUMER, functions_dir, load_handlers
from wallet.entrypoints.local.poller import Poller
from wallet.entrypoints.local.server import LocalRuntime
from wallet.entrypoints.local.sockets import Sockets

BANNER_TOKEN_TTL_S = 12 * 3600
DRAIN_TIMEOUT_S = 10


def serve(config: Config) -> None:
    logs.configure(config.log_level)
    sockets = Sockets()
    container = bootstrap.build(config, connections=MemoryConnections(sockets.send))
    bootstrap.install(container)
    handlers = load_handlers(functions_dir())
    executor = ThreadPoolExecutor(config.handler_threads, thread_name_prefix="handler")
    poller = Poller(container.source, handlers[CONSUMER], config.batch_size_max)
    runtime = LocalRuntime(container, handlers, executor, sockets)
    poller.start()
    try:
        asyncio.run(_listen(runtime, config))
    finally:
        poller.stop(DRAIN_TIMEOUT_S)
        executor.shutdown(wait=False, cancel_futures=True)
        container.close()
        bootstrap.install(None)


async def _listen(runtime: LocalRuntime, config: Config) -> None:
    runner = web.AppRunner(runtime.application(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=1024)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise SystemExit(f"cannot listen on {config.host}:{config.port}: {error.strerror}; "
                         "set WALLET_PORT to a free port") from error
    port = runner.addresses[0][1]
    _banner(runtime, config.host, port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await stopping.wait()
    await runner.cleanup()


def _banner(runtime: LocalRuntime, host: str, port: int) -> None:
    token = runtime.container.tokens.issue(Principal("operator", "operator"), BANNER_TOKEN_TTL_S)
    url = f"http://{host}:{port}"
    print(f"Wallet listening on {url}", flush=True)
    print(f"  API docs:       {url}/docs", flush=True)
    print(f"  Dashboard:      {url}/#token={token}", flush=True)
    print(f"  Operator token: {token}", flush=True)
    print("  (token valid 12 h; make more with: wallet token <userId> [--role operator])",
          flush=True)
