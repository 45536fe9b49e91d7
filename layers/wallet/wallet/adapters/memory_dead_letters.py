"""Dead letters for the embedded stack: kept in memory, bounded, and logged.

The in-process log itself lives in memory, so a durable dead-letter store
would outlive the commands it explains. The error log line carries the reason
and the record, which is what an operator reads first.
"""

import logging
import threading
from collections import deque

from wallet.service_layer.ports import DeadLetters

DEAD_LETTERS_MAX = 10_000
RECORD_LOGGED_BYTES_MAX = 2_048  # enough to recognise a record, not enough to flood the log

log = logging.getLogger("wallet.dead_letters")


class MemoryDeadLetters(DeadLetters):
    def __init__(self, letters_max: int = DEAD_LETTERS_MAX) -> None:
        self._letters: deque[tuple[bytes, str]] = deque(maxlen=letters_max)
        self._lock = threading.Lock()

    def send(self, value: bytes, reason: str) -> None:
        with self._lock:
            self._letters.append((value, reason))
        shown = value[:RECORD_LOGGED_BYTES_MAX].decode("utf-8", "replace")
        log.error("dead letter", extra={"reason": reason, "record": shown})

    def letters(self) -> list[tuple[bytes, str]]:
        with self._lock:
            return list(self._letters)
