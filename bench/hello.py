"""The hello-world reference: one route on the wallet's own HTTP server stack.

The same `EdgeRunner` and `Edge` as `wallet serve`, with limits read from the
same WALLET_* environment, so the only difference from the wallet is what the
route does. It prints `Hello listening on <url>` once ready, and stops on
SIGTERM or SIGINT.
"""

import asyncio
import signal

from aiohttp import web
from wallet.config import Config
from wallet_runtime.edge import Edge, EdgeLimits, EdgeRunner
from wallet_runtime.process_limits import (
    ACCEPT_BACKLOG,
    BoundedLoopErrors,
    connections_max,
    raise_file_limit,
)

READY = "Hello listening on "
BODY = b'{"hello": "world"}'


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


async def serve(config: Config) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(BoundedLoopErrors())
    application = web.Application()
    application.router.add_get("/", hello)
    cap = connections_max(config.connections_max, raise_file_limit())
    runner = EdgeRunner(application, Edge(EdgeLimits.of(config, cap)))
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=ACCEPT_BACKLOG)
    await site.start()
    print(f"{READY}http://{config.host}:{runner.addresses[0][1]}", flush=True)
    stopping = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await stopping.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(Config.from_env()))
