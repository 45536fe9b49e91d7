"""entrypoints/ws_event.py: websocket connect, disconnect, ping, and fan-out events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.access import SocketLimits
from wallet.domain.codec import encode_outcome
from wallet.domain.events import TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, Posting, Transaction
from wallet.entrypoints import ws_event
from wallet.service_layer.relay import Relay

from ..fakes import ALICE, BOB, NOW, OPERATOR, SECRET, RecordingSender, container

DEPOSIT = TransactionCommitted("c-1", "h", Transaction(
    "c-1", "deposit", "USD", 500, NOW,
    (Posting(DEPOSITS_ACCOUNT, -500, -500), Posting("alice", 500, 500))))


@pytest.fixture
def sender() -> Iterator[RecordingSender]:
    sender = RecordingSender()
    limits = SocketLimits(per_user_max=2, per_process_max=3)
    relay = Relay(MemoryConnections(sender), JwtTokens(SECRET), limits)
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


HOSTILE_MESSAGES = [
    "[" * 100_000, "{" * 100_000, '{"a":' * 50_000, "[" * 1000 + "]" * 1000, "9" * 100_000,
    '{"action": "ping"', "\u0000", "", "   ", "null", "true", "[]", '[{"action": "ping"}]',
    '{"action": ["ping"]}', '{"action": {"ping": 1}}', '{"action": "ping"' + " " * 5000 + "}",
]


@pytest.mark.usefixtures("sender")
@pytest.mark.parametrize("body", HOSTILE_MESSAGES, ids=lambda body: repr(body[:20]))
def test_a_hostile_message_gets_an_error_reply_not_an_exception(body: str) -> None:
    result = route("$default", body=body)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("sender")
def test_a_binary_frame_gets_an_error_reply() -> None:
    result = route("$default", body="eyJhY3Rpb24iOiJwaW5nIn0=", isBase64Encoded=True)
    assert json.loads(result["body"])["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("sender")
def test_a_ping_with_extra_fields_and_huge_numbers_is_still_a_ping() -> None:
    result = route("$default", body='{"action": "ping", "n": 1e999999, "m": -1e400}')
    assert json.loads(result["body"]) == {"event": "pong"}


@pytest.mark.usefixtures("sender")
def test_a_user_over_the_socket_cap_is_refused_with_429() -> None:
    tokens = JwtTokens(SECRET)
    assert connect("a-1", tokens.issue(ALICE, 60))["statusCode"] == 200
    assert connect("a-2", tokens.issue(ALICE, 60))["statusCode"] == 200
    refused = connect("a-3", tokens.issue(ALICE, 60))
    assert refused["statusCode"] == 429
    assert json.loads(refused["body"])["error"]["code"] == "too_many_connections"


@pytest.mark.usefixtures("sender")
def test_a_full_process_refuses_with_503() -> None:
    tokens = JwtTokens(SECRET)
    for connection_id, principal in (("a-1", ALICE), ("b-1", BOB), ("o-1", OPERATOR)):
        assert connect(connection_id, tokens.issue(principal, 60))["statusCode"] == 200
    refused = connect("b-2", tokens.issue(BOB, 60))
    assert refused["statusCode"] == 503
    assert json.loads(refused["body"])["error"]["code"] == "unavailable"


@pytest.mark.usefixtures("sender")
def test_the_expiry_sweep_reports_how_many_it_closed() -> None:
    connect("a-1", JwtTokens(SECRET).issue(ALICE, 60))
    assert ws_event.handle({"source": ws_event.EXPIRY_SOURCE}) == {"statusCode": 200, "closed": 0}
