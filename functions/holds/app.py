"""GET /wallet/holds/{id}: one hold; GET /wallet/holds: holds, newest first, cursor-paginated."""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.holds_query import holds_query, next_cursor
from wallet.entrypoints.request import Request
from wallet.service_layer.views import hold_view
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, holds)


async def holds(request: Request, wallet: WalletService) -> api.Response:
    hold_id = request.path_parameters.get("id")
    if hold_id is not None:
        return api.ok(hold_view(await wallet.hold(request.principal, hold_id)))
    query = holds_query(request)
    rows, more = await wallet.holds(request.principal, query)
    cursor = next_cursor(request, query, rows) if more else None
    return api.ok({"items": [hold_view(row.hold) for row in rows], "nextCursor": cursor})
