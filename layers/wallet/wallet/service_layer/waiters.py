"""Handlers wait here for the outcome of the command they appended.

A waiter is matched on command id *and* request hash: two requests that
reuse one idempotency key with different bodies share an id, and each must
get its own answer (the first its transaction, the second a 409).

A waiting request costs a future on its event loop, not a thread: outcomes
arrive on the pub/sub thread and wake each loop once per batch, however many
of its waiters the batch resolves.
"""

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from wallet.domain.errors import Unavailable
from wallet.domain.events import Outcome

PENDING_REMEMBERED_MAX = 10_000
PENDING_REMEMBERED_S = 600  # how long a 202's Location answers "pending" before giving up


class Waiter:
    def __init__(self, command_id: str, request_hash: str, owner: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.command_id, self.request_hash, self.owner = command_id, request_hash, owner
        self.loop = loop
        self._done: asyncio.Future[None] = loop.create_future()
        self.outcome: Outcome | None = None  # set from any thread, before the loop is woken

    def wake(self) -> None:
        """On the waiter's loop only."""
        if not self._done.done():
            self._done.set_result(None)

    async def wait(self, timeout_ms: int) -> Outcome | None:
        """One round: the outcome, or None once `timeout_ms` passed without it."""
        if self.outcome is None and timeout_ms > 0:
            timer = self.loop.call_later(timeout_ms / 1000, self.wake)
            try:
                await self._done
            finally:
                timer.cancel()
            if self.outcome is None:  # the timer woke it: the next round needs a fresh future
                self._done = self.loop.create_future()
        return self.outcome


class OutcomeWaiters:
    def __init__(self, waiters_max: int) -> None:
        self._waiters_max = waiters_max
        self._by_id: dict[str, list[Waiter]] = {}
        self._count = 0
        self._late: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id -> owner, expiry
        self._lock = threading.Lock()

    def register(self, command_id: str, request_hash: str, owner: str) -> Waiter:
        """On the event loop the request runs on: the waiter's future belongs to it."""
        waiter = Waiter(command_id, request_hash, owner, asyncio.get_running_loop())
        with self._lock:
            if self._count >= self._waiters_max:
                raise Unavailable("too many requests in flight; retry with the same key")
            self._by_id.setdefault(command_id, []).append(waiter)
            self._count += 1
        return waiter

    def release(self, waiter: Waiter) -> None:
        with self._lock:
            waiting = self._by_id.get(waiter.command_id, [])
            if waiter in waiting:
                waiting.remove(waiter)
                self._count -= 1
            if not waiting:
                self._by_id.pop(waiter.command_id, None)

    def in_flight(self) -> int:
        """Requests waiting for their outcome now: what the metrics report."""
        return self._count

    def remember_late(self, waiter: Waiter) -> None:
        """A 202 went out: its Location must say "pending" until the outcome arrives."""
        with self._lock:
            self._late[waiter.command_id] = (waiter.owner, time.monotonic() + PENDING_REMEMBERED_S)
            while len(self._late) > PENDING_REMEMBERED_MAX:
                self._late.popitem(last=False)

    def pending_owner(self, command_id: str) -> str | None:
        """Who waits for this command in this process, if anyone still does."""
        with self._lock:
            waiting = self._by_id.get(command_id)
            if waiting:
                return waiting[0].owner
            owner, expiry = self._late.get(command_id, ("", 0.0))
            return owner if expiry > time.monotonic() else None

    def resolve(self, outcomes: Sequence[Outcome]) -> None:
        """From any thread: records each outcome, then wakes each loop once for the batch."""
        with self._lock:
            for outcome in outcomes:
                self._late.pop(outcome.command_id, None)
            matched = [
                (waiter, outcome)
                for outcome in outcomes
                for waiter in self._by_id.get(outcome.command_id, ())
                if waiter.request_hash == outcome.request_hash
            ]
        by_loop: dict[asyncio.AbstractEventLoop, list[Waiter]] = {}
        for waiter, outcome in matched:
            waiter.outcome = outcome
            by_loop.setdefault(waiter.loop, []).append(waiter)
        for loop, woken in by_loop.items():
            if not loop.is_closed():  # its requests ended with it; nobody is left to wake
                loop.call_soon_threadsafe(_wake_all, woken)


def _wake_all(waiters: list[Waiter]) -> None:
    for waiter in waiters:
        waiter.wake()
