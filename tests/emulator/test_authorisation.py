"""The authorisation matrix of tests/e2e/authorisation.py on the deployed template: the same
rules, route by route and caller by caller, through API Gateway and the Lambda functions.

Only the route table is deployed: /metrics, /healthz and the docs are the local runtime's.
"""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.e2e.authorisation import CALLERS, RULES, Route, Wallets, run_rule, seed, table_routes
from tests.e2e.server import unique
from tests.emulator.conftest import REQUEST_TIMEOUT_S, Deployment

REFUSED_CONNECT = {401, 403}


@pytest.fixture(scope="module")
def deployed(emulator: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.api, timeout=REQUEST_TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def wallets(deployed: httpx.Client, emulator: Deployment) -> Wallets:
    return seed(deployed, emulator.token_for, unique)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", table_routes(), ids=" ".join)
def test_each_deployed_route_answers_each_caller_as_its_rule_says(
        deployed: httpx.Client, emulator: Deployment, wallets: Wallets, route: Route,
        caller: str) -> None:
    rule = RULES.get(route)
    assert rule is not None, f"{route} has no rule in tests/e2e/authorisation.py"
    assert run_rule(deployed, rule, route, caller, wallets, emulator.token_for) >= 1


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-jwt"])
def test_the_deployed_websocket_refuses_a_caller_without_a_valid_token(
        emulator: Deployment, query: str) -> None:
    async def scenario() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(emulator.websocket + query):
                pass
        status: int = refused.value.response.status_code
        return status

    # The relay's $connect answers 401; the emulator's API Gateway turns any refused $connect
    # into HTTP 403 (docs/SECURITY.md). Either way the socket is never opened.
    assert asyncio.run(scenario()) in REFUSED_CONNECT
