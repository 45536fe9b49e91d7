"""The relay over a real websocket: timely, matching the 201, and private."""

import asyncio
import json
import time

import httpx
import pytest
import websockets

from tests.e2e.server import Server, auth, next_event, token, unique

EVENT_DEADLINE_S = 1.0


def ws_url(server: Server, bearer: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws?token={bearer}"



async def post(server: Server, path: str, body: dict[str, str], user: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.post(path, json=body, headers=auth(user, "operator"))


def test_balance_updated_arrives_within_a_second_of_the_201(server: Server) -> None:
    async def scenario() -> None:
        user = unique()
        async with websockets.connect(ws_url(server, token(user))) as socket:
            response = await post(server, "/wallet/deposit", {"userId": user, "amount": "12.34"},
                                  "ops")
            acknowledged = time.monotonic()
            assert response.status_code == 201
            event = await next_event(socket, user, EVENT_DEADLINE_S)
            assert time.monotonic() - acknowledged < EVENT_DEADLINE_S
        assert event["balance"] == response.json()["balanceAfter"] == "12.34"
        assert event["currency"] == "USD"
        assert event["transaction"]["id"] == response.json()["id"]
        assert event["transaction"]["type"] == "deposit"

    asyncio.run(scenario())


def test_users_get_only_their_own_events_and_operators_get_all(server: Server) -> None:
    async def scenario() -> None:
        alice, bob = unique(), unique()
        async with websockets.connect(ws_url(server, token(alice))) as alice_socket, \
                websockets.connect(ws_url(server, token("ops", "operator"))) as ops_socket:
            await post(server, "/wallet/deposit", {"userId": bob, "amount": "3"}, "ops")
            await post(server, "/wallet/deposit", {"userId": alice, "amount": "1"}, "ops")
            assert (await next_event(ops_socket, bob, 2))["balance"] == "3.00"
            first = json.loads(await asyncio.wait_for(alice_socket.recv(), 2))
            assert first["userId"] == alice  # bob's deposit, sent earlier, never reached alice

    asyncio.run(scenario())


def test_a_transfer_updates_both_wallets(server: Server) -> None:
    async def scenario() -> None:
        alice, bob = unique(), unique()
        await post(server, "/wallet/deposit", {"userId": alice, "amount": "10"}, "ops")
        async with websockets.connect(ws_url(server, token(bob))) as socket:
            async with httpx.AsyncClient(base_url=server.url) as client:
                sent = await client.post("/wallet/transfer", headers=auth(alice), json={
                    "fromUserId": alice, "toUserId": bob, "amount": "4"})
            assert sent.status_code == 201
            event = await next_event(socket, bob, EVENT_DEADLINE_S)
        assert event["balance"] == "4.00"
        assert event["transaction"]["type"] == "transfer_in"
        assert event["transaction"]["counterparty"] == alice

    asyncio.run(scenario())


def test_ping_gets_pong(server: Server) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(server, token(unique()))) as socket:
            await socket.send(json.dumps({"action": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 2)) == {"event": "pong"}

    asyncio.run(scenario())


@pytest.mark.parametrize("bearer", ["", "garbage", token("u", ttl_s=-5)])
def test_bad_token_is_refused_before_the_upgrade(server: Server, bearer: str) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url(server, bearer)):
                pass
        assert refused.value.response.status_code == 401

    asyncio.run(scenario())
