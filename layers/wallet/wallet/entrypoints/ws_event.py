"""API Gateway websocket events for the relay: connect, disconnect, default, and fan-out."""

import json
import logging
from collections.abc import Mapping
from typing import Any

from wallet import bootstrap
from wallet.domain.codec import decode_outcome
from wallet.domain.errors import Unauthorized
from wallet.service_layer.ledger import EVENTS_CHANNEL

log = logging.getLogger("wallet.relay")

FAN_OUT_SOURCE = EVENTS_CHANNEL  # a fan-out event carries that channel's messages


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    relay = bootstrap.current().relay
    if event.get("source") == FAN_OUT_SOURCE:
        sent = relay.fan_out([decode_outcome(m) for m in event.get("messages") or []])
        return {"statusCode": 200, "sent": sent}
    context = event.get("requestContext") or {}
    route, connection_id = context.get("routeKey"), str(context.get("connectionId"))
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token", "")
        try:
            principal = relay.connect(connection_id, token)
        except Unauthorized as error:
            body = {"error": {"code": error.code, "message": error.message}}
            return {"statusCode": 401, "body": json.dumps(body)}
        log.info("websocket connected", extra={"connection": connection_id,
                                                "role": principal.role})
        return {"statusCode": 200}
    if route == "$disconnect":
        relay.disconnect(connection_id)
        return {"statusCode": 200}
    return {"statusCode": 200, "body": json.dumps(_reply(event.get("body")))}


def _reply(body: object) -> dict[str, Any]:
    try:
        action = json.loads(str(body or "{}")).get("action")
    except (ValueError, AttributeError):
        action = None
    if action == "ping":
        return {"event": "pong"}
    return {"event": "error", "error": {"code": "validation_error",
                                        "message": "send {\"action\": \"ping\"}"}}
