"""The consumer side of the Kafka command log: one member of a consumer group.

Offsets are committed by hand, synchronously, and only for records the
ledger has durably applied. A commit that fails (the partition moved to
another member, or the broker is away) is logged, not raised: the records
are redelivered to whoever owns the partition, and the consumer dedupes by
command id.
"""

import logging
import threading
import time
from collections.abc import Sequence

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from wallet.adapters.kafka_admin import KafkaCluster, client_config, log_error
from wallet.service_layer.ports import CommandSource, LogRecord

# Kafka refuses sessions under its group.min.session.timeout.ms (6 s by default). Tansu lets a
# join or a rebalance wait about half the session timeout, so this is also the ~3 s join time.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 500  # a dozen heartbeats per session: one lost one evicts nobody
# How long the poller may retry one batch (say, through a database outage) before the group
# hands its partitions to another member; a rebalance also waits this long for a stuck member.
MAX_POLL_INTERVAL_MS = 30_000
# Tansu answers a fetch only after about half this wait, even when records arrive meanwhile,
# so this is the consumer's idle-to-busy latency; a smaller one costs more empty fetches.
# Append to poll, one record at a time on Tansu 0.6: 14 ms at 25, 3.5 ms at 5, 2.7 ms at 2
# (with some 400 and 1,000 empty fetches a second per idle consumer at 5 and 2).
FETCH_WAIT_MAX_MS = 5
METADATA_REFRESH_INTERVAL_MS = 1_000  # how soon a topic re-created after a broker restart is seen
COMMITTED_TIMEOUT_MS = 5_000  # reading the committed offsets when rewinding
LAG_SAMPLE_INTERVAL_S = 1.0  # the lag metric's freshness; a sample asks every assigned partition
# Eager "range": on Tansu 0.6, "cooperative-sticky" revokes partitions from the old member but
# never assigns them to the new one until the old one leaves.
ASSIGNMENT_STRATEGY = "range"

log = logging.getLogger("wallet.kafka")


def _on_revoke(consumer: Consumer, partitions: list[TopicPartition]) -> None:
    log.info("partitions revoked", extra={"partitions": sorted(p.partition for p in partitions)})


def group_member_config(cluster: KafkaCluster, group_id: str) -> dict[str, object]:
    """A member of a consumer group that commits by hand, only what it has applied, and
    starts a new group from the oldest command still on the log, never skipping one."""
    return {
        **client_config(cluster), "group.id": group_id,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
        "partition.assignment.strategy": ASSIGNMENT_STRATEGY}


class KafkaCommandSource(CommandSource):
    def __init__(self, cluster: KafkaCluster, topic: str, group_id: str) -> None:
        self._topic = topic
        self._consumer = Consumer({
            **group_member_config(cluster, group_id),
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
            "topic.metadata.refresh.interval.ms": METADATA_REFRESH_INTERVAL_MS,
            "enable.partition.eof": False, "error_cb": _on_error, "logger": log})
        self._joined = threading.Event()
        self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=_on_revoke)
        self._closed = False
        self._committed: dict[int, int] = {}  # partition -> next offset, as this member committed
        self._lag: dict[int, int] = {}
        self._lag_sampled_at = float("-inf")

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned",
                 extra={"partitions": sorted(p.partition for p in partitions)})
        self._joined.set()  # even with no partitions: this member is in the group
        self._committed.clear()  # offsets of an earlier assignment may have moved on elsewhere

    def ready(self, timeout_ms: int) -> bool:
        return self._joined.wait(timeout_ms / 1000)

    def poll(self, records_max: int, timeout_ms: int) -> list[LogRecord]:
        """Waits up to `timeout_ms` for a first record, then takes what is already fetched."""
        assert records_max > 0
        first = self._first(time.monotonic() + timeout_ms / 1000)
        self._sample_lag()
        if first is None:
            return []
        rest = self._consumer.consume(records_max - 1, 0) if records_max > 1 else []
        return [first, *(r for message in rest if (r := _record(message)) is not None)]

    def commit(self, records: Sequence[LogRecord]) -> None:
        next_offsets: dict[int, int] = {}
        for record in records:
            next_offsets[record.partition] = max(
                next_offsets.get(record.partition, 0), record.offset + 1)
        if next_offsets:
            self._commit([TopicPartition(self._topic, partition, offset)
                          for partition, offset in sorted(next_offsets.items())])

    def rewind(self) -> None:
        """Seeks every assigned partition back to its committed offset, or to the beginning."""
        assigned = self._consumer.assignment()
        if not assigned:
            return
        try:
            committed = self._consumer.committed(assigned, timeout=COMMITTED_TIMEOUT_MS / 1000)
        except KafkaException as exc:
            log.warning("could not read committed offsets to rewind", extra={"error": str(exc)})
            return
        for position in committed:
            offset = position.offset if position.offset >= 0 else OFFSET_BEGINNING
            self._seek(TopicPartition(position.topic, position.partition, offset))

    def lag(self) -> dict[int, int]:
        """The last sample `poll` took: any thread may ask, none waits on the client."""
        return dict(self._lag)

    def _sample_lag(self) -> None:
        """High watermark minus committed offset per assigned partition, from local state only.

        Runs on the polling thread: librdkafka's consumer calls block while another
        thread polls. The watermarks are the ones the last fetch brought (cached),
        and the committed offset is this member's own last commit, or its fetch
        position before it committed any, so no broker round trip is added.
        """
        now = time.monotonic()
        if now - self._lag_sampled_at < LAG_SAMPLE_INTERVAL_S:
            return
        self._lag_sampled_at, lags = now, {}
        for position in self._consumer.assignment():
            _, high = self._consumer.get_watermark_offsets(position, cached=True)
            done = self._committed.get(position.partition)
            if done is None:
                [fetched] = self._consumer.position([position])
                done = fetched.offset
            if high >= 0 and done >= 0:
                lags[position.partition] = max(high - done, 0)
        self._lag = lags

    def assigned_partitions(self) -> list[int]:
        """What the group gave this member; empty until its first join completes."""
        return sorted(position.partition for position in self._consumer.assignment())

    def close(self) -> None:
        """Leaves the group at once, so its partitions move without a session timeout."""
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def _first(self, deadline: float) -> LogRecord | None:
        """Skips error events (logged) until a record arrives or the deadline passes."""
        while True:
            remaining_s = max(deadline - time.monotonic(), 0)
            message = self._consumer.poll(remaining_s)
            if message is None:
                return None  # the poll waited out what remained
            if (record := _record(message)) is not None or remaining_s == 0:
                return record

    def _commit(self, positions: list[TopicPartition]) -> None:
        try:
            results = self._consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as exc:
            log.warning("offset commit failed; the records will be redelivered",
                        extra={"error": str(exc)})
            return
        for result in results:
            if result.error is not None:
                log.warning("offset commit failed for a partition", extra={
                    "partition": result.partition, "error": str(result.error)})
            else:
                self._committed[result.partition] = result.offset

    def _seek(self, position: TopicPartition) -> None:
        try:
            self._consumer.seek(position)
        except KafkaException as exc:  # not fetching yet: it will start at the committed offset
            log.warning("could not rewind a partition", extra={
                "partition": position.partition, "error": str(exc)})


def _record(message: Message) -> LogRecord | None:
    """The record a message carries, or None for an error event (logged, never returned)."""
    error = message.error()
    if error is not None:
        log_error("kafka consumer error", error)
        return None
    partition, offset = message.partition(), message.offset()
    assert partition is not None and offset is not None
    return LogRecord(partition, offset, message.value() or b"")


def _on_error(error: KafkaError) -> None:
    log_error("kafka consumer error", error)
