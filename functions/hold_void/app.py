"""POST /wallet/holds/{id}/void: releases a hold's money, none of it captured."""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService, void_of


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, hold_void)


async def hold_void(request: Request, wallet: WalletService) -> api.Response:
    request.no_fields()  # read as capture reads it: a body nobody reads would mislead its sender
    hold = await wallet.hold(request.principal, request.path_parameters.get("id", ""))
    return await api.submit(request, wallet, void_of(hold))
