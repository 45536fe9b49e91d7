"""GET /wallet/history/{userId}, and GET /wallet/history for every wallet (operators).

Entries filtered, sorted by time or amount, and cursor-paginated.
"""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.history_query import history_filters, next_cursor
from wallet.entrypoints.request import Request
from wallet.service_layer.views import history_item
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, history)


async def history(request: Request, wallet: WalletService) -> api.Response:
    filters = history_filters(request)
    entries, more = await wallet.history(request.principal, filters)
    items = [history_item(entry) for entry in entries]
    cursor = next_cursor(request, filters, entries) if more else None
    return api.ok({"items": items, "nextCursor": cursor})
