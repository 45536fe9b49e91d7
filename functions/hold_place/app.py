"""POST /wallet/holds: reserves money in a wallet until it is captured, voided or expires."""

from typing import Any

from wallet.domain.commands import PlaceHold
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, hold_place)


async def hold_place(request: Request, wallet: WalletService) -> api.Response:
    user_id, (amount, currency) = request.user_id("userId"), request.money()
    command = PlaceHold(user_id, amount, currency, *request.labels(), request.expires_in_s())
    return await api.submit(request, wallet, command)
