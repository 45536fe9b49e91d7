"""The authorisation matrix against a real `wallet serve`: every route of the route table, the
runtime's own routes and the websocket, for no token, the owner, a stranger and an operator.

The expectations come from the policies in tests/e2e/authorisation.py, one per route.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.authorisation import (
    ANONYMOUS,
    CALLERS,
    OPERATOR,
    OWNER,
    RULES,
    RUNTIME_RULES,
    STRANGER,
    Probe,
    Route,
    Wallets,
    bearer_of,
    check,
    check_refusal,
    matches,
    run_rule,
    seed,
    send,
    table_routes,
)
from tests.e2e.server import Server, client, token, unique

EVENT_DEADLINE_S = 5.0  # from a 201 to its balanceUpdated; generous, a miss fails the test
UNUSED_METHOD = "DELETE"  # no route takes it


def mint(user: str, role: str) -> str:
    return token(user, role)


@pytest.fixture(scope="module")
def wallets(unthrottled: Server) -> Wallets:
    with client(unthrottled) as api:
        return seed(api, mint, unique)


@pytest.fixture
def api(unthrottled: Server) -> Iterator[httpx.Client]:
    with client(unthrottled) as session:
        yield session


def test_every_route_of_the_table_has_exactly_one_rule() -> None:
    """A new route fails here (and in the matrix below) until its rule is written."""
    routes = table_routes()
    assert len(routes) == len(set(routes))
    assert set(routes) == set(RULES), "add the route to RULES in tests/e2e/authorisation.py"
    assert not set(RULES) & set(RUNTIME_RULES)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", table_routes(), ids=" ".join)
def test_each_route_answers_each_caller_as_its_rule_says(
        api: httpx.Client, wallets: Wallets, route: Route, caller: str) -> None:
    rule = RULES.get(route)
    assert rule is not None, f"{route} has no rule in tests/e2e/authorisation.py"
    assert run_rule(api, rule, route, caller, wallets, mint) >= 1


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(RUNTIME_RULES), ids=" ".join)
def test_the_runtimes_own_routes_answer_each_caller_as_their_rule_says(
        api: httpx.Client, wallets: Wallets, route: Route, caller: str) -> None:
    assert run_rule(api, RUNTIME_RULES[route], route, caller, wallets, mint) >= 1


def paths_by_template(wallets: Wallets) -> dict[str, str]:
    """One concrete path for each path of the table, taken from its rule's probes."""
    found: dict[str, str] = {}
    for (_, template), rule in RULES.items():
        found.setdefault(template, rule.probes(wallets)[0].path)
    return found


@pytest.mark.parametrize("caller", CALLERS)
def test_a_wrong_method_is_401_without_a_token_and_405_with_one(
        api: httpx.Client, wallets: Wallets, caller: str) -> None:
    """Authentication comes first: a stranger learns no route's methods."""
    paths = paths_by_template(wallets)
    assert set(paths) == {path for _, path in table_routes()}
    for template, path in paths.items():
        probe = Probe(UNUSED_METHOD, path)
        response = send(api, probe, bearer_of(wallets, caller, mint))
        check(response, 401 if caller == ANONYMOUS else 405, probe, wallets, caller)
        if caller != ANONYMOUS:
            allowed = {m for m, t in table_routes() if matches(t, path)}
            assert set(response.headers["Allow"].split(", ")) == allowed, template


def test_each_party_to_a_transfer_sees_only_their_own_balance(
        api: httpx.Client, wallets: Wallets) -> None:
    path = f"/wallet/transactions/{wallets.owner_transfer}"

    def view(user: str, role: str = "user") -> dict[str, Any]:
        response = api.get(path, headers={"Authorization": f"Bearer {mint(user, role)}"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    sides = {"fromBalanceAfter", "toBalanceAfter"}
    assert sides & set(view(wallets.owner)) == {"fromBalanceAfter"}
    assert sides & set(view(wallets.counterparty)) == {"toBalanceAfter"}
    assert sides <= set(view(wallets.operator, "operator"))


def test_a_user_id_that_differs_only_in_case_is_another_wallet(
        api: httpx.Client, wallets: Wallets) -> None:
    """Ids compare byte for byte in every store: OWNER-x is a stranger to owner-x's money."""
    twin = wallets.owner.upper()
    assert twin != wallets.owner
    headers = {"Authorization": f"Bearer {mint(twin, 'user')}"}
    balance = api.get(f"/wallet/balance/{twin}", headers=headers)
    assert (balance.status_code, balance.json()["balances"]) == (200, {})
    history = api.get(f"/wallet/history/{twin}", headers=headers)
    assert (history.status_code, history.json()["items"]) == (200, [])
    found = api.get(f"/wallet/transactions/{wallets.owner_deposit}", headers=headers)
    assert found.status_code == 404
    assert api.get(f"/wallet/balance/{wallets.owner}", headers=headers).status_code == 403


def test_extra_fields_and_parameters_never_point_at_another_wallet(
        api: httpx.Client, wallets: Wallets) -> None:
    """Only the documented field names the wallet: a stray `userId` elsewhere is ignored or
    refused, and the owner's balance is untouched by anything the stranger sends."""
    stranger, owner = wallets.stranger, wallets.owner
    headers = {"Authorization": f"Bearer {mint(stranger, 'user')}"}
    before = api.get(f"/wallet/balance/{owner}", headers={
        "Authorization": f"Bearer {mint(owner, 'user')}"}).json()
    for path in (f"/wallet/history/{stranger}", f"/wallet/balance/{stranger}"):
        for name in ("userId", "user_id", "accountId"):
            read = api.get(path, params={name: owner}, headers=headers)
            assert read.status_code == 200 and owner not in read.text, (path, name)
    for path, body in (
            ("/wallet/payout", {"userId": owner, "amount": "0.01", "user_id": stranger}),
            ("/wallet/deposit", {"userId": owner, "amount": "0.01", "fromUserId": stranger}),
            ("/wallet/transfer", {"fromUserId": owner, "toUserId": stranger, "amount": "0.01",
                                  "userId": stranger})):
        moved = api.post(path, json=body, headers=headers)
        assert moved.status_code == 403, (path, moved.text)
    form = api.post("/wallet/payout", content=f"userId={stranger}&userId={owner}&amount=0.01",
                    headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 400 and form.json()["error"]["field"] == "userId"
    after = api.get(f"/wallet/balance/{owner}", headers={
        "Authorization": f"Bearer {mint(owner, 'user')}"}).json()
    assert after == before


async def refusal(url: str) -> tuple[int, Any]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def until_own_event(socket: Any, user: str) -> list[dict[str, Any]]:
    """Every message up to and including `user`'s next balanceUpdated."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(EVENT_DEADLINE_S):
        while True:
            seen.append(json.loads(await socket.recv()))
            if seen[-1].get("event") == "balanceUpdated" and seen[-1]["userId"] == user:
                return seen


def test_the_websocket_serves_each_caller_only_what_the_rules_say(
        unthrottled: Server, wallets: Wallets) -> None:
    """No token: 401 before the upgrade. A user hears their own wallet; an operator, all.

    Each deposit's event reaches the operator's socket before the next deposit is sent: the
    relay fans one commit out to every socket at once, so a leak would arrive first.
    """
    base = unthrottled.url.replace("http://", "ws://") + "/ws"

    def url(caller: str) -> str:
        return f"{base}?token={bearer_of(wallets, caller, mint)}"

    async def deposit(user: str) -> None:
        async with httpx.AsyncClient(base_url=unthrottled.url) as session:
            response = await session.post("/wallet/deposit", json={
                "userId": user, "amount": "0.50"}, headers={
                "Authorization": f"Bearer {mint(wallets.operator, 'operator')}"})
        assert response.status_code == 201, response.text

    async def scenario() -> None:
        for bare in (base, f"{base}?token="):
            status, body = await refusal(bare)
            assert status == 401
            check_refusal(body, 401, bare)
        async with websockets.connect(url(OWNER)) as owner, \
                websockets.connect(url(STRANGER)) as stranger, \
                websockets.connect(url(OPERATOR)) as operator:
            sockets = {wallets.owner: owner, wallets.stranger: stranger}
            for user in (wallets.owner, wallets.stranger, wallets.owner):
                await deposit(user)
                heard = await until_own_event(sockets[user], user)
                assert len(heard) == 1, heard  # the other wallet's event never came
                assert len(await until_own_event(operator, user)) == 1

    asyncio.run(scenario())
