"""`wallet bridge`: the stand-in for Lambda's Kafka event source mapping, for emulators without one.

ministack (like LocalStack's free tier) runs Lambda functions but never
polls Kafka, so this plays AWS's part. On AWS the template's MSK or
SelfManagedKafka event does this job, configured the same way:
ReportBatchItemFailures, MaximumRetryAttempts, and the Kafka topic
`<topic>.dlq` as the on-failure destination.

It consumes the command topic as a member of the consumer group, hands each
batch to the function through the Lambda Invoke API as an MSK-shaped event,
and commits offsets only after the function returned:
- a whole success commits past the batch;
- `batchItemFailures` commits each partition up to (not including) its lowest
  failed offset and redelivers from there; once a record has failed
  `max_retry_attempts` retries it goes to `<topic>.dlq` (the same letter the
  local consumer writes) and its partition moves past it;
- a FunctionError or a failed invoke retries the whole batch with capped
  backoff until it succeeds or the bridge stops. Nothing is ever skipped.
"""

import base64
import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)
from wallet.adapters.kafka_admin import KafkaCluster, log_error
from wallet.adapters.kafka_source import group_member_config
from wallet.entrypoints.kafka_event import REPORTED_REASON, failed_identifiers, partition_key
from wallet.service_layer.ports import DeadLetters

POLL_TIMEOUT_MS = 200  # also how soon a stop is noticed while idle
MAX_RETRY_ATTEMPTS_DEFAULT = 2  # per failed record, after its first delivery, as AWS counts
RETRY_BACKOFF_MS_MIN, RETRY_BACKOFF_MS_MAX = 100, 5_000
READY = "bridge ready"  # printed once the group assigned this member its partitions

log = logging.getLogger("wallet.bridge")

Invoke = Callable[[dict[str, Any]], object]  # the function's response; raises on FunctionError


class InvokeFailed(Exception):
    """The function raised, timed out, or could not be reached: the whole batch is retried."""


class Bridge:
    def __init__(self, cluster: KafkaCluster, topic: str, group: str, invoke: Invoke,
                 dead_letters: DeadLetters, batch_size: int, max_retry_attempts: int) -> None:
        assert batch_size > 0 and max_retry_attempts >= 0
        self._cluster, self._topic, self._invoke = cluster, topic, invoke
        self._dead_letters = dead_letters
        self._batch_size, self._max_retry_attempts = batch_size, max_retry_attempts
        self._failures: dict[tuple[int, int], int] = {}  # (partition, offset): failed deliveries
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self._consumer = Consumer({
            **group_member_config(cluster, group),
            "error_cb": lambda error: log_error("kafka consumer error", error), "logger": log})
        self._consumer.subscribe([topic], on_assign=self._on_assign)

    def run(self) -> None:
        """Until `stopping` is set; then leaves the group, committing nothing unconfirmed."""
        try:
            while not self.stopping.is_set():
                messages = self._consumer.consume(self._batch_size, POLL_TIMEOUT_MS / 1000)
                records = [m for m in messages if _usable(m)]
                if records:
                    self._deliver(records)
        finally:
            self._consumer.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._failures.clear()  # another member may have moved these partitions on
        if not self.ready.is_set():
            self.ready.set()
            print(READY, flush=True)

    def _deliver(self, records: list[Message]) -> None:
        response = self._invoke_until_answered(msk_event(records, self._cluster.bootstrap))
        if response is None:
            self._rewind(records)  # stopping: the next owner gets the batch again
            return
        positions = []
        for partition, offsets in _by_partition(records).items():
            positions.append(self._settle(partition, offsets, response, records))
        self._commit(positions)

    def _invoke_until_answered(self, event: dict[str, Any]) -> set[tuple[str, int]] | None:
        """The failed identifiers, or None once stopping; the backoff is the bound."""
        backoff_ms = RETRY_BACKOFF_MS_MIN
        while not self.stopping.is_set():
            try:
                return failed_identifiers(self._invoke(event))
            except (InvokeFailed, ValueError) as exc:
                log.warning("consumer function failed; retrying the whole batch",
                            extra={"error": str(exc), "backoff_ms": backoff_ms})
            self.stopping.wait(backoff_ms / 1000)
            backoff_ms = min(backoff_ms * 2, RETRY_BACKOFF_MS_MAX)
        return None

    def _settle(self, partition: int, offsets: list[int], failed: set[tuple[str, int]],
                records: list[Message]) -> TopicPartition:
        """Where this partition's committed offset goes, seeking back when it is not past all."""
        key = partition_key(self._topic, partition)
        lowest = min((o for o in offsets if (key, o) in failed), default=None)
        if lowest is None:
            return TopicPartition(self._topic, partition, max(offsets) + 1)
        attempts = self._failures.get((partition, lowest), 0) + 1
        if attempts > self._max_retry_attempts:
            value = next(m.value() for m in records
                         if m.partition() == partition and m.offset() == lowest)
            self._dead_letters.send(value or b"", f"{REPORTED_REASON} ({attempts} times)")
            self._failures.pop((partition, lowest), None)
            lowest += 1
        else:
            self._failures = {k: v for k, v in self._failures.items() if k[0] != partition}
            self._failures[(partition, lowest)] = attempts
        position = TopicPartition(self._topic, partition, lowest)
        if lowest <= max(offsets):
            self._seek(position)
        return position

    def _rewind(self, records: list[Message]) -> None:
        for partition, offsets in _by_partition(records).items():
            self._seek(TopicPartition(self._topic, partition, min(offsets)))

    def _seek(self, position: TopicPartition) -> None:
        try:
            self._consumer.seek(position)
        except KafkaException as exc:  # the partition moved away: its new owner redelivers
            log.warning("could not seek back", extra={
                "partition": position.partition, "error": str(exc)})

    def _commit(self, positions: Sequence[TopicPartition]) -> None:
        try:
            self._consumer.commit(offsets=list(positions), asynchronous=False)
        except KafkaException as exc:  # redelivered later; the function applies once
            log.warning("offset commit failed; the records will be redelivered",
                        extra={"error": str(exc)})


def msk_event(records: Sequence[Message], bootstrap: str) -> dict[str, Any]:
    """The event Lambda builds for a Kafka batch: records grouped by "<topic>-<partition>"."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for message in records:
        topic, partition = message.topic() or "", message.partition() or 0
        grouped.setdefault(partition_key(topic, partition), []).append(_record(message))
    return {"eventSource": "SelfManagedKafka", "bootstrapServers": bootstrap,
            "records": grouped}


def _record(message: Message) -> dict[str, Any]:
    kind, timestamp = message.timestamp()
    record: dict[str, Any] = {
        "topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
        "timestamp": timestamp, "timestampType": _TIMESTAMP_TYPES.get(kind, "NO_TIMESTAMP_TYPE"),
        "value": base64.b64encode(message.value() or b"").decode(),
        "headers": _headers(message)}
    key = message.key()
    if key is not None:
        record["key"] = base64.b64encode(key).decode()
    return record


def _headers(message: Message) -> list[dict[str, list[int]]]:
    """Lambda's shape: one {name: [byte, ...]} per header, in order."""
    headers = message.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return [{name: list(value.encode() if isinstance(value, str) else value or b"")}
            for name, value in pairs]


_TIMESTAMP_TYPES = {TIMESTAMP_CREATE_TIME: "CREATE_TIME",
                    TIMESTAMP_LOG_APPEND_TIME: "LOG_APPEND_TIME"}


def _by_partition(records: Sequence[Message]) -> dict[int, list[int]]:
    offsets: dict[int, list[int]] = {}
    for message in records:
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        offsets.setdefault(partition, []).append(offset)
    return offsets


def _usable(message: Message) -> bool:
    error = message.error()
    if error is not None:
        log_error("kafka consumer error", error)
    return error is None


def lambda_invoke(function_name: str, endpoint_url: str | None, timeout_s: int) -> Invoke:
    """Invokes through the Lambda API (RequestResponse); InvokeFailed on any failure."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    client = boto3.client("lambda", endpoint_url=endpoint_url, config=Config(
        read_timeout=timeout_s, retries={"max_attempts": 1}))  # this bridge does the retrying

    def invoke(event: dict[str, Any]) -> object:
        try:
            answer = client.invoke(FunctionName=function_name, InvocationType="RequestResponse",
                                   Payload=json.dumps(event).encode())
        except (BotoCoreError, ClientError) as exc:
            raise InvokeFailed(f"invoke failed: {type(exc).__name__}") from None
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            error_type = payload.get("errorType") if isinstance(payload, dict) else None
            raise InvokeFailed(f"FunctionError {answer['FunctionError']}: {error_type}")
        return payload
    return invoke
