"""GET /wallet/balance/{userId}: every balance of a wallet, what is held and what is available;
now, or as of an instant (`at`)."""

from datetime import UTC, datetime
from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.views import balances_view
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, balance)


async def balance(request: Request, wallet: WalletService) -> api.Response:
    user_id, currency = request.path_user_id(), request.currency(request.query.get("currency"))
    at = request.at(datetime.now(UTC))
    balances = await wallet.balances(request.principal, user_id, at)
    return api.ok(balances_view(user_id, currency.code, balances, at))
