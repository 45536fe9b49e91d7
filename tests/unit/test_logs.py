"""logs.py: one JSON object per line, with secrets scrubbed on the way out."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
from wallet.logs import JsonFormatter, scrub

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
        ("authorization: bearer   abc", "authorization: bearer   [redacted]"),
        (f"token {JWT} seen", "token [redacted] seen"),
        ("GET /ws?token=abc123&x=1", "GET /ws?token=[redacted]&x=1"),
        ("GET /ws?TOKEN=abc123 HTTP/1.1", "GET /ws?TOKEN=[redacted] HTTP/1.1"),
        ("amount=1.50&userId=alice", "amount=1.50&userId=alice"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_scrub_redacts_tokens(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


def record(message: str, *args: object, **extra: Any) -> logging.LogRecord:
    return logging.getLogger("wallet.test").makeRecord(
        "wallet.test", logging.INFO, __file__, 1, message, args, None, extra=extra)


def formatted(log_record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(log_record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_a_record_becomes_one_json_object_with_its_extra_fields() -> None:
    line = formatted(record("batch %s applied", "b-1", batch_size=3, duration_ms=1.5))
    assert (line["level"], line["logger"]) == ("INFO", "wallet.test")
    assert line["msg"] == "batch b-1 applied"
    assert (line["batch_size"], line["duration_ms"]) == (3, 1.5)
    assert line["ts"].endswith("Z")


def test_standard_record_attributes_are_left_out() -> None:
    line = formatted(record("hello"))
    assert set(line) == {"ts", "level", "logger", "msg"}


def test_an_exception_is_kept_on_the_same_line() -> None:
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        log_record = logging.getLogger("wallet.test").makeRecord(
            "wallet.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatted(log_record)
    assert "ValueError: broken" in line["exception"]


def test_values_json_cannot_encode_are_rendered_as_text() -> None:
    assert formatted(record("x", path=object()))["path"].startswith("<object object")


@pytest.mark.parametrize(
    ("message", "extra"),
    [
        (f"token {JWT}", {}),
        ("GET /ws?token=abc123", {}),
        ("request", {"authorization": "Bearer abc.def"}),
        ("Authorization: Bearer abc.def", {}),
    ],
)
def test_a_scrubbed_line_is_still_one_json_object(message: str, extra: dict[str, Any]) -> None:
    """The scrubber runs over the JSON text; `Bearer\\s+\\S+` also eats the closing quote."""
    line = formatted(record(message, **extra))
    assert "abc" not in json.dumps(line)
    assert JWT not in json.dumps(line)


@pytest.mark.parametrize("value", ["\ud800", 2**70, object()])
def test_a_line_with_a_value_orjson_refuses_is_still_json(value: object) -> None:
    assert "field" in formatted(record("odd value", field=value))


def test_the_timestamp_is_utc_with_milliseconds() -> None:
    made = record("when")
    made.created, made.msecs = 0.25, 250.0
    assert formatted(made)["ts"] == "1970-01-01T00:00:00.250Z"
