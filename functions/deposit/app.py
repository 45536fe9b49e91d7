"""POST /wallet/deposit: money enters a wallet from outside."""

from typing import Any

from wallet.domain.commands import Deposit
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, deposit)


async def deposit(request: Request, wallet: WalletService) -> api.Response:
    command = Deposit(request.user_id("userId"), *request.money(), *request.labels())
    return await api.submit(request, wallet, command)
