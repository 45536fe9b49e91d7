"""POST /wallet/transfer: money moves between two wallets, atomically."""

from typing import Any

from wallet.domain.commands import Transfer
from wallet.domain.errors import ValidationError
from wallet.entrypoints import api
from wallet.entrypoints.request import Request


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.handle(event, transfer)


def transfer(request: Request) -> api.Response:
    source, target = request.user_id("fromUserId"), request.user_id("toUserId")
    if source == target:
        raise ValidationError("toUserId must differ from fromUserId", "toUserId")
    return api.submit(request, Transfer(source, target, *request.money()))
