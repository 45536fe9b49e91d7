"""API Gateway websocket events for the relay: connect, disconnect, default, fan-out, expiry.

Fan-out comes two ways: a direct event of the pub/sub channel's messages (the
local runtime), and SQS records whose bodies are those messages (AWS, where
the consumer sends each batch to a queue that triggers the ws_fanout function).
"""

import json
import logging
from collections.abc import Mapping
from typing import Any

from wallet import bootstrap
from wallet.domain.codec import decode_outcome
from wallet.domain.errors import WalletError
from wallet.entrypoints.api import error_response
from wallet.service_layer.ledger import EVENTS_CHANNEL

log = logging.getLogger("wallet.relay")

FAN_OUT_SOURCE = EVENTS_CHANNEL  # a fan-out event carries that channel's messages
EXPIRY_SOURCE = "wallet.expiry"  # a schedule's event: hang up on sockets whose token expired
# A ping is 17 characters. Anything much longer is not one, and is refused unparsed, so a
# client cannot spend the relay's CPU (or its C stack, with "[" * 100000) on JSON.
MESSAGE_CHARS_MAX = 1024
_PING_PLEASE = {"event": "error", "error": {"code": "validation_error",
                                            "message": "send {\"action\": \"ping\"}"}}


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    relay = bootstrap.current().relay
    if event.get("source") == FAN_OUT_SOURCE:
        sent = relay.fan_out([decode_outcome(m) for m in event.get("messages") or []])
        return {"statusCode": 200, "sent": sent}
    if event.get("source") == EXPIRY_SOURCE:
        return {"statusCode": 200, "closed": relay.expire()}
    context = event.get("requestContext") or {}
    route, connection_id = context.get("routeKey"), str(context.get("connectionId"))
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token", "")
        address = str((context.get("identity") or {}).get("sourceIp") or "")
        try:
            principal = relay.connect(connection_id, token, address)
        except WalletError as error:  # a bad token, a cap that is full, an empty bucket
            refused = error_response(error)
            return {"statusCode": refused.status, "headers": refused.headers,
                    "body": json.dumps(refused.body)}
        log.info("websocket connected", extra={"connection": connection_id,
                                                "role": principal.role})
        return {"statusCode": 200}
    if route == "$disconnect":
        relay.disconnect(connection_id)
        return {"statusCode": 200}
    return {"statusCode": 200, "body": json.dumps(_reply(event))}


def handle_queue(event: Mapping[str, Any]) -> dict[str, Any]:
    """SQS records of committed events: each is fanned out alone, and one that fails is
    reported by its messageId, so SQS redelivers that record and not the batch."""
    relay = bootstrap.current().relay
    failures = []
    for record in event.get("Records") or []:
        try:
            relay.fan_out([decode_outcome(m) for m in _queued_messages(record)])
        except Exception:  # whatever one record does, the others still go out
            log.exception("fan-out record failed; SQS redelivers it",
                          extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}


def _queued_messages(record: Mapping[str, Any]) -> list[str]:
    messages = json.loads(record["body"])
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        raise ValueError("a queued body is a JSON array of encoded outcomes")
    return messages


def _reply(event: Mapping[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    if event.get("isBase64Encoded") or not isinstance(body, str) or len(body) > MESSAGE_CHARS_MAX:
        return _PING_PLEASE
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the decoder's stack
        return _PING_PLEASE
    if isinstance(message, dict) and message.get("action") == "ping":
        return {"event": "pong"}
    return _PING_PLEASE
