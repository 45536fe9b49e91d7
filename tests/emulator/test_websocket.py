"""The relay on its AWS path, as deployed: API Gateway's websocket, the DynamoDB registry, and
the fan-out fed by SQS after the consumer's commit (docs/DEPLOYMENT.md, relay-contract).

These need the relay's AWS adapters (branch i10-relay: functions/ws_fanout, the DynamoDB
registry) and the Kafka bridge (i10-kafka) so the deployed consumer publishes to the queue.
`pytest -m relay` runs just them.
"""

import asyncio
import time

import httpx
import pytest
import websockets

from tests.e2e.server import next_event, unique
from tests.emulator.aws import call
from tests.emulator.conftest import REQUEST_TIMEOUT_S, Deployment

pytestmark = pytest.mark.relay

EVENT_DEADLINE_S = 2.0  # from the 201 to the balanceUpdated on the socket
SILENCE_S = 1.0  # how long a socket that must see nothing is watched after the owner's event
STALE_REMOVAL_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
STALE_CONNECTION_ID = "c0ffee00c0ffee00"  # the emulator's 16 hex digits, never handed out here
EXPIRY_S = 3600


def socket_url(emulator: Deployment, user: str) -> str:
    return f"{emulator.websocket}?token={emulator.token_for(user)}"


async def deposit(emulator: Deployment, user: str, amount: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emulator.api, timeout=REQUEST_TIMEOUT_S) as client:
        return await client.post("/wallet/deposit", json={"userId": user, "amount": amount},
                                 headers={"Authorization": f"Bearer {emulator.token}"})



def test_balance_updated_arrives_within_two_seconds_of_the_201(emulator: Deployment) -> None:
    async def scenario() -> None:
        user = unique()
        async with websockets.connect(socket_url(emulator, user)) as socket:
            response = await deposit(emulator, user, "12.34")
            assert response.status_code == 201, response.text
            event = await next_event(socket, user, EVENT_DEADLINE_S)
        assert event["balance"] == response.json()["balanceAfter"] == "12.34"
        assert event["transaction"]["id"] == response.json()["id"]

    asyncio.run(scenario())


def test_another_users_socket_sees_nothing(emulator: Deployment) -> None:
    async def scenario() -> None:
        alice, bob = unique(), unique()
        async with websockets.connect(socket_url(emulator, alice)) as alice_socket, \
                websockets.connect(socket_url(emulator, bob)) as bob_socket:
            assert (await deposit(emulator, alice, "5")).status_code == 201
            await next_event(alice_socket, alice, EVENT_DEADLINE_S)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(SILENCE_S):
                    message = await bob_socket.recv()
                    pytest.fail(f"bob saw alice's event: {message!r}")

    asyncio.run(scenario())


def test_a_stale_connection_is_removed_when_the_fan_out_meets_it(
        emulator: Deployment) -> None:
    """A registered connection API Gateway no longer has answers GoneException: it is deleted."""
    user = unique()
    table, endpoint = emulator.outputs["ConnectionsTable"], f"http://127.0.0.1:{emulator.port}"
    key = {"connectionId": {"S": STALE_CONNECTION_ID + user[-8:]}}
    call(endpoint, "dynamodb", "put_item", TableName=table, Item=key | {
        "audience": {"S": user}, "userId": {"S": user}, "role": {"S": "user"},
        "expiresAt": {"N": str(int(time.time()) + EXPIRY_S)}})

    async def scenario() -> None:
        async with websockets.connect(socket_url(emulator, user)) as socket:
            assert (await deposit(emulator, user, "1")).status_code == 201
            await next_event(socket, user, EVENT_DEADLINE_S)  # the fan-out has run

    asyncio.run(scenario())
    deadline = time.monotonic() + STALE_REMOVAL_TIMEOUT_S
    while "Item" in call(endpoint, "dynamodb", "get_item", TableName=table, Key=key):
        assert time.monotonic() < deadline, "the stale connection is still registered"
        time.sleep(POLL_INTERVAL_S)
