"""Kafka SASL credentials from AWS Secrets Manager, in the shape MSK's SASL/SCRAM secrets have.

The SecretString is JSON `{"username": ..., "password": ...}`. It is read
once at start-up; no message raised here ever holds any part of it.
"""

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from wallet.domain.errors import Unavailable


def sasl_credentials(secret_arn: str, secrets: Any) -> tuple[str, str]:
    """(username, password) from a Secrets Manager client; raises Unavailable naming the
    secret, never its value."""
    try:
        text = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        problem = type(exc).__name__
        raise Unavailable(f"could not read the Kafka SASL secret {secret_arn}: {problem}") from None
    try:
        fields = json.loads(text)
        username, password = fields["username"], fields["password"]
    except (ValueError, TypeError, KeyError):
        username = password = None
    if not (isinstance(username, str) and isinstance(password, str) and username and password):
        raise Unavailable(f"the Kafka SASL secret {secret_arn} is not JSON with a username "
                          "and a password")
    return username, password
