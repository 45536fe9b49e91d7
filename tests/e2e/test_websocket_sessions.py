"""Websocket sessions under hostile or long-lived clients: expiry, caps, compression, input."""

import asyncio
import base64
import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Engine
from tests.e2e.server import Server, auth, token, unique
from tests.e2e.test_websocket import post, ws_url

TOKEN_TTL_S = 4
CLOSE_DEADLINE_S = TOKEN_TTL_S + 10  # the sweep runs every second; generous on a busy machine
DEPOSIT_PAUSE_S = 0.25  # between deposits while the token runs out: a pace, not a wait
REPLY_DEADLINE_S = 5


def _epoch_s(created_at: str) -> float:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()


async def _deposits_until_closed(server: Server, user: str, socket: Any) -> list[float]:
    """Deposits to `user` until the socket closes; returns when each commit it saw happened."""
    seen: list[float] = []

    async def listen() -> None:
        with contextlib.suppress(ConnectionClosed):  # the close code is what the test reads
            async for text in socket:
                message = json.loads(text)
                if message.get("event") == "balanceUpdated":
                    seen.append(_epoch_s(message["transaction"]["createdAt"]))

    listening = asyncio.create_task(listen())
    async with asyncio.timeout(CLOSE_DEADLINE_S):
        while not listening.done():
            assert (await post(server, "/wallet/deposit", {"userId": user, "amount": "1"},
                               "ops")).status_code == 201
            await asyncio.wait({listening}, timeout=DEPOSIT_PAUSE_S)
    return seen


def test_a_socket_is_closed_when_its_token_expires_and_gets_nothing_after(
    server: Server
) -> None:
    async def scenario() -> None:
        user = unique()
        warm = await post(server, "/wallet/deposit", {"userId": user, "amount": "1"}, "ops")
        assert warm.status_code == 201  # a cold pipeline must not eat the token's lifetime
        bearer = token(user, ttl_s=TOKEN_TTL_S)
        expires_at_s = json.loads(_claims(bearer))["exp"]
        async with websockets.connect(ws_url(server, bearer)) as socket:
            seen = await _deposits_until_closed(server, user, socket)
            assert socket.close_code == 4001
            assert socket.close_reason == "token expired"
        assert seen, "events before the expiry arrive as usual"
        assert all(committed_s < expires_at_s for committed_s in seen)

    asyncio.run(scenario())


def _claims(bearer: str) -> str:
    body = bearer.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


@pytest.fixture(scope="module")
def capped(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that holds 2 sockets per user and 3 in all."""
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("capped")), {
            **env, "WALLET_WEBSOCKETS_PER_USER_MAX": "2",
            "WALLET_WEBSOCKETS_PER_PROCESS_MAX": "3"}).start()
        yield running
        running.stop()


async def _refusal(url: str) -> tuple[int, dict[str, Any]]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


def test_sockets_are_capped_per_user_and_per_process(capped: Server) -> None:
    async def scenario() -> None:
        alice, bob, carol = unique(), unique(), unique()
        async with websockets.connect(ws_url(capped, token(alice))), \
                websockets.connect(ws_url(capped, token(alice))):
            status, body = await _refusal(ws_url(capped, token(alice)))
            assert (status, body["error"]["code"]) == (429, "too_many_connections")
            async with websockets.connect(ws_url(capped, token(bob))):
                status, body = await _refusal(ws_url(capped, token(carol)))
                assert (status, body["error"]["code"]) == (503, "unavailable")
        async with websockets.connect(ws_url(capped, token(alice))) as socket:
            await socket.send(json.dumps({"action": "ping"}))  # closed sockets free their places
            assert json.loads(await asyncio.wait_for(socket.recv(), REPLY_DEADLINE_S)) == {
                "event": "pong"}

    asyncio.run(scenario())


def test_the_handshake_does_not_negotiate_compression(server: Server) -> None:
    """permessage-deflate keeps a zlib window per socket: about 95 KB each, never returned."""
    async def scenario() -> None:
        async with websockets.connect(ws_url(server, token(unique()))) as socket:
            assert socket.response is not None
            assert "Sec-WebSocket-Extensions" not in socket.response.headers

    asyncio.run(scenario())


def test_a_message_over_the_size_cap_closes_the_socket_with_1009(server: Server) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(server, token(unique())), max_size=None) as socket:
            await socket.send("x" * 200_000)
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(REPLY_DEADLINE_S):
                    while True:
                        await socket.recv()
            assert socket.close_code == 1009

    asyncio.run(scenario())


HOSTILE = ["[" * 100_000, "{" * 50_000, "not json", "[1, 2]", '{"action": "ping"',
           "9" * 50_000, '"ping"', "null", b"\x00\xff binary", b'{"action": "ping"}']


@pytest.mark.parametrize("message", HOSTILE, ids=lambda message: repr(message[:12]))
def test_a_hostile_message_gets_an_error_and_the_socket_stays_usable(
    server: Server, message: str | bytes
) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(server, token(unique()))) as socket:
            await socket.send(message)
            reply = json.loads(await asyncio.wait_for(socket.recv(), REPLY_DEADLINE_S))
            assert reply["error"]["code"] == "validation_error"
            await socket.send(json.dumps({"action": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), REPLY_DEADLINE_S)) == {
                "event": "pong"}

    asyncio.run(scenario())


def test_a_numeric_string_exp_is_401_over_http(api: httpx.Client) -> None:
    user = unique()
    bearer = token(user, exp=str(int(datetime.now().timestamp()) + 3600))
    response = api.get(f"/wallet/balance/{user}", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and bearer not in error["message"]
    assert api.get(f"/wallet/balance/{user}", headers=auth(user)).status_code == 200


def test_an_exp_of_ten_to_the_thirty_is_401_at_the_websocket(server: Server) -> None:
    async def scenario() -> None:
        status, body = await _refusal(ws_url(server, token(unique(), exp=10**30)))
        assert (status, body["error"]["code"]) == (401, "unauthorized")

    asyncio.run(scenario())
