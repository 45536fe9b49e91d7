"""Handlers wait here for the outcome of the command they appended.

A waiter is matched on command id *and* request hash: two requests that
reuse one idempotency key with different bodies share an id, and each must
get its own answer (the first its transaction, the second a 409).
"""

import threading
from collections.abc import Iterable

from wallet.domain.errors import Unavailable
from wallet.domain.events import Outcome


class Waiter:
    def __init__(self, command_id: str, request_hash: str) -> None:
        self.command_id, self.request_hash = command_id, request_hash
        self._done = threading.Event()
        self.outcome: Outcome | None = None

    def resolve(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._done.set()

    def wait(self, timeout_ms: int) -> Outcome | None:
        self._done.wait(timeout_ms / 1000)
        return self.outcome


class OutcomeWaiters:
    def __init__(self, waiters_max: int) -> None:
        self._waiters_max = waiters_max
        self._by_id: dict[str, list[Waiter]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def register(self, command_id: str, request_hash: str) -> Waiter:
        waiter = Waiter(command_id, request_hash)
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

    def pending(self, command_id: str) -> bool:
        with self._lock:
            return command_id in self._by_id

    def resolve(self, outcomes: Iterable[Outcome]) -> None:
        with self._lock:
            matched = [
                (waiter, outcome)
                for outcome in outcomes
                for waiter in self._by_id.get(outcome.command_id, ())
                if waiter.request_hash == outcome.request_hash
            ]
        for waiter, outcome in matched:
            waiter.resolve(outcome)
