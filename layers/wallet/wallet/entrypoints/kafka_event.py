"""Kafka event-source events, the shape Lambda hands a Kafka-triggered function.

The local runtime builds exactly this shape from the in-process log, so the
consumer function runs the same code path locally and behind a real event
source mapping.
"""

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from wallet.config import COMMANDS_TOPIC
from wallet.service_layer.ports import LogRecord


def build_event(records: Sequence[LogRecord], topic: str = COMMANDS_TOPIC) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{topic}-{record.partition}", []).append({
            "topic": topic, "partition": record.partition, "offset": record.offset,
            "value": base64.b64encode(record.value).decode(),
        })
    return {"eventSource": "SelfManagedKafka", "records": grouped}


def record_values(event: Mapping[str, Any]) -> list[bytes]:
    """Values in offset order within each partition: one wallet's commands stay in order."""
    values = []
    for records in (event.get("records") or {}).values():
        for record in sorted(records, key=lambda r: int(r["offset"])):
            values.append(base64.b64decode(record.get("value") or ""))
    return values
