"""The process's own limits: file descriptors, and how much the event loop may log.

Every connection costs a file descriptor. The soft limit is raised to the
hard one at start, and the connection cap is kept below it with room for the
database, the broker, the logs and the handler threads, so the process never
runs out while accepting. Should it still (another process, a lower hard
limit), Python 3.11's accept loop reports EMFILE up to `backlog` times per
tick; the loop's exception handler below logs a bounded number of lines per
interval and counts the rest, instead of writing a hundred megabytes.
"""

import asyncio
import logging
import resource
import time
from typing import Any

log = logging.getLogger("wallet.loop")

ACCEPT_BACKLOG = 1024  # the listen queue; Python 3.11 accepts up to this many per loop tick
# Not for admitted client connections: one tick's accepts (each refused one still costs a
# descriptor until it closes), the database, the broker, logs and handler threads.
FDS_RESERVED = ACCEPT_BACKLOG + 320
LOOP_ERRORS_PER_INTERVAL_MAX = 5
LOOP_ERROR_INTERVAL_S = 10.0


def raise_file_limit() -> int:
    """Raises the soft descriptor limit to the hard one; answers the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            log.warning("cannot raise the file descriptor limit", extra={"limit": soft})
    return soft


def connections_max(configured: int, file_limit: int) -> int:
    """The configured cap, lowered to fit under the descriptor limit with room to spare."""
    fitting = max(file_limit // 4, file_limit - FDS_RESERVED)  # a tiny limit still serves
    if configured > fitting:
        log.warning("connection cap lowered to fit the file descriptor limit",
                    extra={"configured": configured, "connections_max": fitting})
    return min(configured, fitting)


class BoundedLoopErrors:
    """An event-loop exception handler that logs at most N lines per interval, one line each."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._interval_start, self._logged, self._dropped = clock(), 0, 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        now = self._clock()
        if now - self._interval_start >= LOOP_ERROR_INTERVAL_S:
            if self._dropped:
                log.error("event loop errors not logged", extra={"dropped": self._dropped})
            self._interval_start, self._logged, self._dropped = now, 0, 0
        if self._logged >= LOOP_ERRORS_PER_INTERVAL_MAX:
            self._dropped += 1
            return
        self._logged += 1
        error = context.get("exception")
        log.error(str(context.get("message", "event loop error")),
                  extra={"error": repr(error) if error is not None else None})
