"""adapters/apigateway_connections.py: the DynamoDB registry and the Management API sender."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from wallet.adapters.apigateway_connections import ApiGatewayConnections
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import TooManyConnections
from wallet.domain.events import TransactionCommitted
from wallet.domain.ledger import DEPOSITS_ACCOUNT, Posting, Transaction
from wallet.service_layer.relay import Relay

from ..fakes import NOW, SECRET
from .aws import ENDPOINT, TABLE, aws_client, create_connections_table, pushed

NOW_S = 1_800_000_000
ALICE = Principal("alice", "user", NOW_S + 600)
BOB = Principal("bob", "user", NOW_S + 600)
OPERATOR = Principal("ops", "operator", NOW_S + 600)
LIMITS = SocketLimits(per_user_max=2)
DEPOSIT = TransactionCommitted("c-1", "h", Transaction(
    "c-1", "deposit", "USD", 500, NOW,
    (Posting(DEPOSITS_ACCOUNT, -500, -500), Posting("alice", 500, 500))))


class Clock:
    def __init__(self) -> None:
        self.now_s = float(NOW_S)

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        create_connections_table(aws_client("dynamodb"))
        yield


@pytest.fixture
def clock() -> Clock:
    return Clock()


def registry(clock: Clock, management: Any = None, dynamodb: Any = None) -> ApiGatewayConnections:
    return ApiGatewayConnections(
        TABLE, dynamodb or aws_client("dynamodb"),
        management or aws_client("apigatewaymanagementapi", endpoint_url=ENDPOINT), clock)


def filled(clock: Clock) -> ApiGatewayConnections:
    connections = registry(clock)
    for connection_id, principal in (("a", ALICE), ("b", BOB), ("o", OPERATOR)):
        connections.add(connection_id, principal, LIMITS)
    return connections


def test_the_audience_is_the_owners_and_every_operator(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    assert dict(connections.audience(["alice"])) == {"a": ALICE, "o": OPERATOR}
    assert dict(connections.audience(["bob"])) == {"b": BOB, "o": OPERATOR}
    assert set(dict(connections.audience(["alice", "bob"]))) == {"a", "b", "o"}


def test_a_user_named_like_the_operators_partition_sees_only_their_own(
        aws: None, clock: Clock) -> None:
    connections = filled(clock)
    operators = Principal("operators", "user", NOW_S + 600)
    connections.add("x", operators, LIMITS)
    assert dict(connections.audience(["alice"])) == {"a": ALICE, "o": OPERATOR}


def test_the_audience_keeps_each_tokens_expiry(aws: None, clock: Clock) -> None:
    (principal,) = [p for c, p in filled(clock).audience(["alice"]) if c == "a"]
    assert principal.expires_at_epoch_s == NOW_S + 600


def test_remove_forgets_a_connection(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    connections.remove("o")
    connections.remove("missing")
    assert dict(connections.audience(["alice"])) == {"a": ALICE}


def test_the_per_user_cap_refuses_one_more(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    connections.add("a2", ALICE, LIMITS)
    with pytest.raises(TooManyConnections):
        connections.add("a3", ALICE, LIMITS)
    connections.add("b2", BOB, LIMITS)  # the cap is per user


def test_a_removed_socket_frees_its_place(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    connections.add("a2", ALICE, LIMITS)
    connections.remove("a")
    connections.add("a3", ALICE, LIMITS)
    assert set(dict(connections.audience(["alice"]))) == {"a2", "a3", "o"}


def test_a_reused_id_is_counted_once(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    connections.add("a", ALICE, LIMITS)
    connections.add("a2", ALICE, LIMITS)


def test_sockets_whose_token_expired_hold_no_place(aws: None, clock: Clock) -> None:
    connections = registry(clock)
    connections.add("old-1", Principal("alice", "user", NOW_S + 10), LIMITS)
    connections.add("old-2", Principal("alice", "user", NOW_S + 10), LIMITS)
    clock.now_s += 10  # TTL has not deleted them: DynamoDB deletes late
    connections.add("new", ALICE, LIMITS)


def test_expired_lists_connections_whose_token_ended(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    connections.add("a-short", Principal("alice", "user", NOW_S + 10), LIMITS)
    assert connections.expired(NOW_S + 9) == []
    assert connections.expired(NOW_S + 10) == ["a-short"]  # never the cap items


class RacingDynamo:
    """Lets another connect of the same user land between this one's read and its write."""

    def __init__(self, real: Any, rival: ApiGatewayConnections, principal: Principal) -> None:
        self._real, self._rival, self._principal = real, rival, principal
        self.raced = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def transact_write_items(self, **request: Any) -> Any:
        if not self.raced:
            self.raced += 1
            self._rival.add("rival", self._principal, LIMITS)
        return self._real.transact_write_items(**request)


def test_racing_connects_cannot_overshoot_the_cap(aws: None, clock: Clock) -> None:
    connections = registry(clock)
    connections.add("a1", ALICE, LIMITS)
    racing = RacingDynamo(aws_client("dynamodb"), connections, ALICE)
    with pytest.raises(TooManyConnections):
        registry(clock, dynamodb=racing).add("a2", ALICE, LIMITS)
    assert racing.raced == 1
    assert set(dict(connections.audience(["alice"]))) == {"a1", "rival"}


def test_send_posts_to_that_connection_only(aws: None, clock: Clock) -> None:
    connections = filled(clock)
    assert connections.send("a", '{"event":"x"}') is True
    assert pushed("a") == b'{"event":"x"}'
    assert pushed("b") == b""


class GoneManagement:
    """What API Gateway answers for a socket that closed; moto cannot say it."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"},
                           "ResponseMetadata": {"HTTPStatusCode": 410}}, "PostToConnection")

    def delete_connection(self, ConnectionId: str) -> None:
        self.deleted.append(ConnectionId)


def test_a_gone_connection_is_removed_by_the_relay(aws: None, clock: Clock) -> None:
    connections = registry(clock, management=GoneManagement())
    connections.add("a", ALICE, LIMITS)
    relay = Relay(connections, JwtTokens(SECRET), LIMITS, clock)
    assert relay.fan_out([DEPOSIT]) == 0
    assert dict(connections.audience(["alice"])) == {}
    connections.add("a2", ALICE, LIMITS)
    connections.add("a3", ALICE, LIMITS)  # the gone one's place was freed too


def test_an_expired_listener_is_hung_up_on_not_pushed_to(aws: None, clock: Clock) -> None:
    management = GoneManagement()
    connections = registry(clock, management=management)
    connections.add("a", Principal("alice", "user", NOW_S + 10), LIMITS)
    clock.now_s += 10
    relay = Relay(connections, JwtTokens(SECRET), LIMITS, clock)
    assert relay.fan_out([DEPOSIT]) == 0
    assert management.deleted == ["a"]
    assert dict(connections.audience(["alice"])) == {}


def test_the_relay_pushes_balance_updated_through_the_management_api(
        aws: None, clock: Clock) -> None:
    relay = Relay(filled(clock), JwtTokens(SECRET), LIMITS, clock)
    assert relay.fan_out([DEPOSIT]) == 2
    assert json.loads(pushed("a"))["event"] == "balanceUpdated"
    assert pushed("o") == pushed("a")
    assert pushed("b") == b""
