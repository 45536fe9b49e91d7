"""boto3 clients with the wallet's bounds: short timeouts and a few retries, never botocore's own.

botocore's defaults wait 60 s for a read and retry in "legacy" mode; a Lambda
that waits that long on one call has spent its invocation. Every AWS adapter
takes a client as an argument, so tests hand in moto's or a stub; only
bootstrap calls this.
"""

from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

AWS_ATTEMPTS_MAX = 3  # botocore's attempts per call, the first one included (throttling, 5xx)
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5

_BOUNDS = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                 retries={"max_attempts": AWS_ATTEMPTS_MAX, "mode": "standard"})


def client(service: str, endpoint_url: str | None = None) -> Any:
    """Region, credentials and (on the emulator) AWS_ENDPOINT_URL come from the environment."""
    return boto3.client(service, endpoint_url=endpoint_url, config=_BOUNDS)
