"""Where an adapter's blocking call runs, so that it never stalls the event loop.

An in-memory adapter answers in microseconds and runs inline; one that waits
on a disk or a socket (SQLite, PostgreSQL, Redis, a Kafka acknowledgement)
runs on a small thread pool. bootstrap.py chooses per adapter; the services
only ever `await` through one of these.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Offload(Protocol):
    async def __call__(self, call: Callable[..., T], /, *args: Any) -> T: ...


async def inline(call: Callable[..., T], /, *args: Any) -> T:
    return call(*args)


class OnThreads:
    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    async def __call__(self, call: Callable[..., T], /, *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)


@dataclass(frozen=True)
class Offloads:
    """One per port the wallet service calls; the pending registry shares the cache's."""

    store: Offload = inline
    log: Offload = inline
    cache: Offload = inline
    # A store call that reads a whole journal (verification): seconds, not microseconds, so
    # it runs on a thread whatever the store, and the loop keeps serving meanwhile.
    scan: Offload = inline


INLINE = Offloads()
