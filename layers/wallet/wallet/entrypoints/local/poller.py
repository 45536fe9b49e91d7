"""The event source mapping, locally: poll the log, invoke the consumer, commit after.

Offsets are committed only when the consumer function returned, that is after
its database commit. If it raised, the same batch is retried after a bounded
backoff, and nothing is committed in between.
"""

import logging
import threading

from wallet.entrypoints.kafka_event import build_event
from wallet.entrypoints.local.functions import Handler
from wallet.service_layer.ports import CommandSource

POLL_TIMEOUT_MS = 200
RETRY_BACKOFF_MS_MIN, RETRY_BACKOFF_MS_MAX = 50, 5_000

log = logging.getLogger("wallet.poller")


class Poller:
    def __init__(self, source: CommandSource, consumer: Handler, batch_size_max: int) -> None:
        self._source, self._consumer, self._batch_size_max = source, consumer, batch_size_max
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stopping.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            records = self._source.poll(self._batch_size_max, POLL_TIMEOUT_MS)
            if records and self._deliver(build_event(records)):
                self._source.commit(records)

    def _deliver(self, event: dict[str, object]) -> bool:
        backoff_ms = RETRY_BACKOFF_MS_MIN
        while not self._stopping.is_set():
            try:
                self._consumer(event, None)
                return True
            except Exception:
                log.exception("consumer failed; retrying the batch",
                              extra={"backoff_ms": backoff_ms})
                self._stopping.wait(backoff_ms / 1000)
                backoff_ms = min(backoff_ms * 2, RETRY_BACKOFF_MS_MAX)
        self._source.rewind()
        return False
