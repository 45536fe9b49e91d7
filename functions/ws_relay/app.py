"""The websocket relay: $connect / $disconnect / $default, and fan-out of committed events."""

from typing import Any

from wallet.entrypoints import ws_event


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return ws_event.handle(event)
