"""entrypoints/ws_event.py: websocket connect, disconnect, ping, and fan-out events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.codec import encode_outcome
from wallet.domain.events import TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, Posting, Transaction
from wallet.entrypoints import ws_event
from wallet.service_layer.relay import Relay

from ..fakes import ALICE, NOW, SECRET, RecordingSender, container

DEPOSIT = TransactionCommitted("c-1", "h", Transaction(
    "c-1", "deposit", "USD", 500, NOW,
    (Posting(DEPOSITS_ACCOUNT, -500, -500), Posting("alice", 500, 500))))


@pytest.fixture
def sender() -> Iterator[RecordingSender]:
    sender = RecordingSender()
    relay = Relay(MemoryConnections(sender), JwtTokens(SECRET))
    bootstrap.install(container(relay=relay))
    yield sender
    bootstrap.install(None)


def route(route_key: str, connection_id: str = "conn-1", **fields: Any) -> dict[str, Any]:
    return ws_event.handle({"requestContext": {"routeKey": route_key,
                                               "connectionId": connection_id}, **fields})


def connect(connection_id: str, token: str) -> dict[str, Any]:
    return route("$connect", connection_id, queryStringParameters={"token": token})


def fan_out() -> dict[str, Any]:
    return ws_event.handle({"source": ws_event.FAN_OUT_SOURCE,
                            "messages": [encode_outcome(DEPOSIT)]})


def test_a_connected_user_receives_their_events(sender: RecordingSender) -> None:
    assert connect("conn-1", JwtTokens(SECRET).issue(ALICE, 60)) == {"statusCode": 200}
    assert fan_out() == {"statusCode": 200, "sent": 1}
    (message,) = sender.to("conn-1")
    assert json.loads(message)["balance"] == "5.00"


@pytest.mark.parametrize("query", [{"token": "garbage"}, {}, None])
def test_a_bad_token_is_refused_with_401(sender: RecordingSender, query: Any) -> None:
    result = route("$connect", queryStringParameters=query)
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["code"] == "unauthorized"
    assert fan_out()["sent"] == 0


def test_a_disconnected_client_receives_nothing(sender: RecordingSender) -> None:
    connect("conn-1", JwtTokens(SECRET).issue(ALICE, 60))
    assert route("$disconnect") == {"statusCode": 200}
    assert fan_out()["sent"] == 0


@pytest.mark.usefixtures("sender")
def test_a_ping_gets_a_pong() -> None:
    result = route("$default", body='{"action": "ping"}')
    assert json.loads(result["body"]) == {"event": "pong"}


@pytest.mark.usefixtures("sender")
@pytest.mark.parametrize("body", ['{"action": "dance"}', "not json", "[1]", None, '"ping"'])
def test_anything_but_a_ping_gets_an_error_reply(body: str | None) -> None:
    result = route("$default", body=body)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["error"]["code"] == "validation_error"
