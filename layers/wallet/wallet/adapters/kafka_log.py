"""The command log and its dead letters on Kafka: appends that return only once acknowledged.

Records are keyed by wallet id, so one wallet's commands share a partition
and keep their order. The consumer side lives in `kafka_source` and topic
setup in `kafka_admin`; both are re-exported here, so wiring imports one module.

A producer that lost its broker is replaced, not repaired. After a broker
restart the idempotent producer's id is unknown to the broker, which is
fatal for that librdkafka instance, and the topics may be gone too. So a
recovery makes sure the topics exist, then starts a fresh producer (whose
first record waits ~0.5-1 s for a producer id). A record given up on may
still reach the log later; that is safe because the caller retries with the
same command id and the consumer applies each command once.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from wallet.adapters.kafka_admin import (
    DEAD_LETTER_PARTITIONS,
    KafkaCluster,
    create_missing,
    dead_letter_topic,
    ensure_topics,
)
from wallet.adapters.kafka_producer import Headers, ProducerGeneration
from wallet.adapters.kafka_source import KafkaCommandSource
from wallet.domain.errors import Unavailable
from wallet.service_layer.ports import CommandLog, DeadLetters

__all__ = ["KafkaCluster", "KafkaCommandLog", "KafkaCommandSource", "KafkaDeadLetters",
           "ensure_topics"]

# Worst case of one append: two attempts of DELIVERY_TIMEOUT_MS + REPORT_GRACE_MS (2.5 s each)
# around one recovery; a broker known to be down fails it in RECOVERY_TIMEOUT_MS or at once.
ATTEMPTS_MAX = 2  # one on the current producer, one more on a recovered one
RECOVERY_TIMEOUT_MS = 1_500  # per admin call while re-creating topics
RECOVERY_COOLDOWN_MS = 1_000  # after a failed recovery, callers fail fast rather than queue
CLOSE_FLUSH_TIMEOUT_MS = 5_000  # records still queued at shutdown get this long to be acked

log = logging.getLogger("wallet.kafka")


class AckedProducer:
    """Delivers records one by one from many threads, each call returning after the ack.

    `ensure_topics(timeout_ms)` re-creates what the producer writes to when a
    recovery runs; it raises Unavailable when the broker cannot be reached.
    """

    def __init__(self, cluster: KafkaCluster, ensure_topics: Callable[[int], None]) -> None:
        self._cluster = cluster
        self._ensure_topics = ensure_topics
        self._current = ProducerGeneration(self._cluster)
        self._recovering = threading.Lock()
        self._cooldown_until = 0.0
        self._closed = False

    def deliver(self, topic: str, key: bytes | None, value: bytes,
                headers: Headers | None = None) -> None:
        """Returns once stored; raises LogFull, or Unavailable after ATTEMPTS_MAX failures."""
        if self._closed:
            raise Unavailable("the command log is closed")
        error = None
        for attempt in range(ATTEMPTS_MAX):
            generation = self._working()
            error = generation.send(topic, key, value, headers)
            if error is None:
                return
            generation.broken = True
            log.warning("kafka delivery failed", extra={
                "topic": topic, "attempt": attempt + 1, "error": error})
        raise Unavailable(f"the Kafka broker did not acknowledge the record: {error}")

    def close(self) -> None:
        self._closed = True
        self._current.close(CLOSE_FLUSH_TIMEOUT_MS)

    def _working(self) -> ProducerGeneration:
        current = self._current
        return self._recover(current) if current.broken else current

    def _recover(self, failed: ProducerGeneration) -> ProducerGeneration:
        """One caller at a time replaces the producer; the others reuse its result."""
        with self._recovering:
            if self._current is not failed:
                return self._current
            if self._closed:  # a late caller must not start a producer nobody will close
                raise Unavailable("the command log is closed")
            if time.monotonic() < self._cooldown_until:
                raise Unavailable("the Kafka broker is unreachable")
            try:
                self._ensure_topics(RECOVERY_TIMEOUT_MS)
            except Unavailable:
                self._cooldown_until = time.monotonic() + RECOVERY_COOLDOWN_MS / 1000
                raise
            self._current = replacement = ProducerGeneration(self._cluster)
        log.info("kafka producer replaced")
        failed.close(flush_timeout_ms=0)
        return replacement


class KafkaCommandLog(CommandLog):
    """`append` blocks until the broker acknowledged (acks=all, idempotent) the record."""

    def __init__(self, cluster: KafkaCluster, topic: str, partitions: int) -> None:
        self._topic = topic
        self._producer = AckedProducer(
            cluster, lambda timeout_ms: ensure_topics(cluster, topic, partitions, timeout_ms))

    def append(self, key: str, value: bytes) -> None:
        self._producer.deliver(self._topic, key.encode(), value)

    def close(self) -> None:
        self._producer.close()


class KafkaDeadLetters(DeadLetters):
    """Writes to `<topic>.dlq`, where `topic` is the commands topic the records came from.

    The value is the record as it was read, untouched, so an operator can
    replay it; why it failed travels in the `reason` and `failed_at` headers.
    """

    def __init__(self, cluster: KafkaCluster, topic: str) -> None:
        self.topic = dead_letter_topic(topic)
        self._producer = AckedProducer(cluster, lambda timeout_ms: create_missing(
            cluster, {self.topic: DEAD_LETTER_PARTITIONS}, timeout_ms))

    def send(self, value: bytes, reason: str) -> None:
        failed_at = datetime.now(UTC).isoformat()
        self._producer.deliver(self.topic, None, value,
                               [("reason", reason.encode()), ("failed_at", failed_at.encode())])

    def close(self) -> None:
        self._producer.close()
