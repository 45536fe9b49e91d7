"""POST /wallet/holds/{id}/capture: moves all of a hold, or part of it, out of its wallet."""

from typing import Any

from wallet.domain.money import currency_of
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService, capture_of


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, hold_capture)


async def hold_capture(request: Request, wallet: WalletService) -> api.Response:
    hold = await wallet.hold(request.principal, request.path_parameters.get("id", ""))
    amount = request.amount_in(currency_of(hold.currency))  # in the hold's currency, or all
    return await api.submit(request, wallet, capture_of(hold, amount))
