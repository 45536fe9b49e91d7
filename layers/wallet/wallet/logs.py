"""Structured JSON logs, one object per line, with secrets scrubbed on the way out.

Code never logs a token on purpose; the scrubber is the second line of
defence for the day someone logs a header or an exception that quotes one.
"""

import json
import logging
import re
import sys
import time
from typing import Any

# Stops at quotes and backslashes so a scrubbed line is still valid JSON.
_SECRET = re.compile(
    r"(Bearer\s+)[^\s\"'\\]+|eyJ[\w-]+\.[\w-]+\.[\w-]*|(token=)[^&\s\"'\\]+", re.I)
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or m.group(2) or "") + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str))


def configure(level: str) -> None:
    formatter = JsonFormatter()
    formatter.converter = time.gmtime  # timestamps say Z, so they must be UTC
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
