"""entrypoints/kafka_event.py: the Lambda Kafka event shape, both ways."""

from __future__ import annotations

import base64

from wallet.config import COMMANDS_TOPIC as TOPIC
from wallet.entrypoints.kafka_event import build_event, record_values
from wallet.service_layer.ports import LogRecord


def test_records_are_grouped_by_topic_partition_with_base64_values() -> None:
    event = build_event([LogRecord(0, 5, b"a"), LogRecord(1, 2, b"b"), LogRecord(0, 6, b"c")])
    assert event["eventSource"] == "SelfManagedKafka"
    assert sorted(event["records"]) == [f"{TOPIC}-0", f"{TOPIC}-1"]
    first = event["records"][f"{TOPIC}-0"][0]
    assert (first["topic"], first["partition"], first["offset"]) == (TOPIC, 0, 5)
    assert base64.b64decode(first["value"]) == b"a"


def test_values_round_trip_in_offset_order_within_each_partition() -> None:
    event = build_event([LogRecord(0, 6, b"a6"), LogRecord(1, 1, b"b1"), LogRecord(0, 5, b"a5")])
    values = record_values(event)
    assert sorted(values) == [b"a5", b"a6", b"b1"]
    assert values.index(b"a5") < values.index(b"a6")


def test_offsets_sort_as_numbers_not_text() -> None:
    event = {"records": {"t-0": [
        {"offset": "10", "value": base64.b64encode(b"ten").decode()},
        {"offset": "9", "value": base64.b64encode(b"nine").decode()},
    ]}}
    assert record_values(event) == [b"nine", b"ten"]


def test_an_event_without_records_has_no_values() -> None:
    assert record_values({}) == []
    assert record_values({"records": None}) == []
