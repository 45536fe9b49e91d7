"""The websocket fan-out on AWS: SQS batches of committed events, pushed as balanceUpdated."""

from typing import Any

from wallet.entrypoints import ws_event


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return ws_event.handle_queue(event)
