"""POST /wallet/payout: money leaves a wallet for the outside world."""

from typing import Any

from wallet.domain.commands import Payout
from wallet.entrypoints import api
from wallet.entrypoints.request import Request


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, payout)


async def payout(request: Request) -> api.Response:
    return await api.submit(request, Payout(request.user_id("userId"), *request.money()))
