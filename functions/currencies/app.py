"""GET /wallet/currencies: every currency the wallet accepts, with its minor-unit exponent."""

from typing import Any

from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.views import currencies_view
from wallet.service_layer.wallet import WalletService

# The table changes only with a deploy, so clients may keep it for a while. `private`:
# the route needs a token, and a shared cache must not answer for it without one.
CACHE_MAX_AGE_S = 3600


def handler(event: api.Event, context: object) -> dict[str, Any]:
    return api.run(event, currencies)


async def currencies(request: Request, wallet: WalletService) -> api.Response:
    view = currencies_view(request.rules.default_currency, MINOR_UNIT_EXPONENTS)
    return api.Response(200, view, {"Cache-Control": f"private, max-age={CACHE_MAX_AGE_S}"})
