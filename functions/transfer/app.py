"""POST /wallet/transfer: money moves between two wallets, atomically."""

from typing import Any

from wallet.domain.commands import Transfer
from wallet.domain.errors import SameWallet, ValidationError
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, transfer)


async def transfer(request: Request, wallet: WalletService) -> api.Response:
    source, target = request.user_id("fromUserId"), request.user_id("toUserId")
    try:
        command = Transfer(source, target, *request.money(), *request.labels())
    except SameWallet as exc:  # the domain's rule; only the edge knows which field broke it
        raise ValidationError(f"toUserId must differ from fromUserId: {exc.message}",
                              "toUserId") from exc
    return await api.submit(request, wallet, command)
