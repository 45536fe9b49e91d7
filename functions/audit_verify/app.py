"""GET /wallet/audit/verify[?userId=]: recompute the journal's chains and sums (operators only).

Without userId every account is checked, system accounts included. The answer
is 200 whatever it finds: `problems` lists what is wrong, empty when nothing is.
"""

from typing import Any

from wallet.entrypoints import api
from wallet.entrypoints.request import Request, valid_user_id
from wallet.service_layer.wallet import WalletService


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, audit_verify)


async def audit_verify(request: Request, wallet: WalletService) -> api.Response:
    principal = request.principal
    principal.authorise_audit()  # a user is refused before their query is read
    raw = request.query.get("userId")
    user_id = None if raw is None else valid_user_id(raw, "userId")
    report = await wallet.verify(principal, user_id)
    return api.ok(report.to_json())
