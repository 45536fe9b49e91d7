"""The event source mapping, locally: poll the log, invoke the consumer, commit after.

Offsets are committed only when the consumer function returned, that is after
its database commit. If it raised, the same batch is retried after a bounded
backoff, and nothing is committed in between. A record the function reported
as a batch item failure is poison, and poison never heals, so it goes to the
dead letters at once, before the commit (AWS's event source mapping retries
it first; see `wallet_runtime.esm_bridge`).
"""

import logging
import threading
import time

from wallet.entrypoints.kafka_event import (
    REPORTED_REASON,
    build_event,
    event_records,
    failed_identifiers,
)
from wallet.service_layer.ports import CommandSource, DeadLetters

from wallet_runtime.functions import Handler

POLL_TIMEOUT_MS = 200
RETRY_BACKOFF_MS_MIN, RETRY_BACKOFF_MS_MAX = 50, 5_000

log = logging.getLogger("wallet.poller")


class Poller:
    def __init__(self, source: CommandSource, consumer: Handler, batch_size_max: int,
                 dead_letters: DeadLetters) -> None:
        self._source, self._consumer, self._batch_size_max = source, consumer, batch_size_max
        self._dead_letters = dead_letters
        self._stopping = threading.Event()
        self._draining = threading.Event()
        self._draining_until = 0.0
        self._thread = threading.Thread(target=self._run, name="ledger-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_timeout_s: float = 10) -> None:
        """Applies what the log still holds, up to the deadline, then stops."""
        self._draining_until = time.monotonic() + drain_timeout_s
        self._draining.set()
        self._thread.join(drain_timeout_s + POLL_TIMEOUT_MS / 1000)
        self._stopping.set()
        self._thread.join(RETRY_BACKOFF_MS_MAX / 1000)

    def _run(self) -> None:
        while not self._stopping.is_set():
            records = self._source.poll(self._batch_size_max, POLL_TIMEOUT_MS)
            if records and self._deliver(build_event(records)):
                self._source.commit(records)
            elif self._draining.is_set() and not records:
                return  # the log is empty: nothing acknowledged-to-be-pending is left
            if self._draining.is_set() and time.monotonic() > self._draining_until:
                return

    def _deliver(self, event: dict[str, object]) -> bool:
        """Retries until it succeeds or the poller stops; only the backoff is bounded.

        Giving up on a batch would mean skipping commands whose callers may
        still be waiting, or applying a wallet's later commands before them.
        Undecodable records never fail a batch (the consumer skips them), so
        what is retried here is an outage, and an outage ends.
        """
        backoff_ms = RETRY_BACKOFF_MS_MIN
        while not self._stopping.is_set():
            try:
                self._dead_letter(event, self._consumer(event, None))
                return True
            except Exception:
                log.exception("consumer failed; retrying the batch",
                              extra={"backoff_ms": backoff_ms})
                self._stopping.wait(backoff_ms / 1000)
                backoff_ms = min(backoff_ms * 2, RETRY_BACKOFF_MS_MAX)
        self._source.rewind()
        return False

    def _dead_letter(self, event: dict[str, object], response: object) -> None:
        """Raises if a letter cannot be stored: then the batch is retried, commit and all."""
        failed = failed_identifiers(response)
        for record in event_records(event):
            if (record.identifier["partition"], record.offset) in failed:
                self._dead_letters.send(record.value, REPORTED_REASON)
