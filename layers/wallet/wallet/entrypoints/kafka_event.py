"""Kafka event-source events, the shape Lambda hands a Kafka-triggered function.

The event groups records by `"<topic>-<partition>"`, each with a base64
`key` and `value` (MSK and SelfManagedKafka events alike). The local runtime
builds exactly this shape from the in-process log, and `wallet bridge` from
a real broker, so the consumer function runs one code path everywhere.

A record the function cannot use is reported back as a batch item failure,
in the shape AWS documents for Kafka event source mappings:

    {"batchItemFailures": [{"itemIdentifier": {"partition": "<topic>-<partition>",
                                               "offset": <offset>}}]}

The event source then commits up to the lowest failed offset of each
partition and redelivers from there; after its bounded retries it sends the
record to its on-failure destination (`<topic>.dlq`). An empty list means
the whole batch is done.
"""

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wallet.config import COMMANDS_TOPIC
from wallet.service_layer.ports import LogRecord

BATCH_ITEM_FAILURES = "batchItemFailures"
# What an event source writes to the dead letters' `reason` header for a record the function
# reported; the function's own log line says what exactly was wrong with it.
REPORTED_REASON = "reported as a batch item failure by the ledger consumer function"


@dataclass(frozen=True)
class EventRecord:
    topic: str
    partition: int
    offset: int
    value: bytes

    @property
    def identifier(self) -> dict[str, str | int]:
        return {"partition": partition_key(self.topic, self.partition), "offset": self.offset}


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def build_event(records: Sequence[LogRecord], topic: str = COMMANDS_TOPIC) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(partition_key(topic, record.partition), []).append({
            "topic": topic, "partition": record.partition, "offset": record.offset,
            "value": base64.b64encode(record.value).decode(),
        })
    return {"eventSource": "SelfManagedKafka", "records": grouped}


def event_records(event: Mapping[str, Any]) -> list[EventRecord]:
    """Records in offset order within each partition: one wallet's commands stay in order."""
    found = []
    for key, records in (event.get("records") or {}).items():
        topic, _, partition = str(key).rpartition("-")  # where a record does not say its own
        for record in sorted(records, key=lambda r: int(r["offset"])):
            found.append(EventRecord(
                record.get("topic") or topic, int(record.get("partition", partition)),
                int(record["offset"]), base64.b64decode(record.get("value") or "")))
    return found


def record_values(event: Mapping[str, Any]) -> list[bytes]:
    return [record.value for record in event_records(event)]


def batch_response(failed: Iterable[EventRecord]) -> dict[str, Any]:
    return {BATCH_ITEM_FAILURES: [{"itemIdentifier": record.identifier} for record in failed]}


def failed_identifiers(response: object) -> set[tuple[str, int]]:
    """The (topic-partition, offset) pairs a function's response reports as failed.

    Anything but a list of well-formed identifiers is a failure of the whole
    batch, as AWS treats it: the caller retries it all and skips nothing.
    """
    if not isinstance(response, Mapping) or not response.get(BATCH_ITEM_FAILURES):
        return set()
    failures = response[BATCH_ITEM_FAILURES]
    if not isinstance(failures, list):
        raise ValueError("batchItemFailures is not a list")
    found = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, Mapping) or not isinstance(identifier.get("partition"), str) \
                or not isinstance(identifier.get("offset"), int):
            raise ValueError("a batch item failure has no {partition, offset} identifier")
        found.add((identifier["partition"], identifier["offset"]))
    return found
