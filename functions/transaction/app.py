"""GET /wallet/transactions/{id}: one transaction, its rejection, or that it is pending."""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.views import outcome_view
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, transaction)


async def transaction(request: Request, wallet: WalletService) -> api.Response:
    command_id = request.path_parameters.get("id", "")
    outcome = await wallet.lookup(request.principal, command_id, request.request_fingerprint())
    if outcome is None:
        return api.ok({"id": command_id, "status": "pending"})
    return api.ok(outcome_view(outcome, request.principal))
