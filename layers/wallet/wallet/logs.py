"""Structured JSON logs, one object per line, with secrets scrubbed on the way out.

Code never logs a token on purpose; the scrubber is the second line of
defence for the day someone logs a header or an exception that quotes one.

Every request writes a line, so a line is made cheaply: orjson, the
timestamp's seconds formatted once per second, and no caller, thread or
process lookup that no line prints.
"""

import json
import logging
import re
import sys
import time
from typing import Any

import orjson

# Stops at quotes and backslashes so a scrubbed line is still valid JSON.
_SECRET = re.compile(
    r"(Bearer\s+)[^\s\"'\\]+|eyJ[\w-]+\.[\w-]+\.[\w-]*|(token=)[^&\s\"'\\]+", re.I)
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or m.group(2) or "") + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second, self._second_text = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": f"{self._seconds(int(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(_dumps(line))

    def _seconds(self, epoch_s: int) -> str:
        """UTC, as the Z says."""
        if epoch_s != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))
            self._second = epoch_s
        return self._second_text


def _dumps(line: dict[str, Any]) -> str:
    try:
        return orjson.dumps(line, default=str).decode()
    except (orjson.JSONEncodeError, TypeError):  # a lone surrogate, an int past 64 bits
        return json.dumps(line, default=str)


def configure(level: str) -> None:
    formatter = JsonFormatter()
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False  # unprinted
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # botocore logs whole response bodies at DEBUG, a Secrets Manager SecretString among them
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.INFO)
