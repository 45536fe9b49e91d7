"""POST /wallet/payout: money leaves a wallet for the outside world."""

from typing import Any

from wallet.domain.commands import Payout
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, payout)


async def payout(request: Request, wallet: WalletService) -> api.Response:
    command = Payout(request.user_id("userId"), *request.money(), *request.labels())
    return await api.submit(request, wallet, command)
