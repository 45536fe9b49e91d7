"""GET /wallet/audit/verify: recomputes the journal's hash chains and sums (operators only)."""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.request import Request, valid_user_id
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, audit_verify)


async def audit_verify(request: Request, wallet: WalletService) -> api.Response:
    raw = request.query.get("userId")  # none: every account, the system's shards included
    user_id = None if raw is None else valid_user_id(raw, "userId")
    report = await wallet.verify(request.principal, user_id)
    return api.ok(report.to_json())
