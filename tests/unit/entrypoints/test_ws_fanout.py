"""functions/ws_fanout and ws_relay on AWS: DynamoDB registry, Management API, SQS records."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from wallet import bootstrap
from wallet.adapters.apigateway_connections import ApiGatewayConnections
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.domain.access import Principal
from wallet.entrypoints import ws_event
from wallet.service_layer.relay import Relay

from ..adapters.aws import (
    ENDPOINT,
    TABLE,
    aws_client,
    create_connections_table,
    pushed_messages,
)
from ..fakes import SECRET, container

ROOT = Path(__file__).resolve().parents[3]
BAD_RECORD = "8f1c3c4e-0000-4000-8000-000000000002"
Handler = Callable[[dict[str, Any], object], dict[str, Any]]


def function(name: str) -> Handler:
    spec = importlib.util.spec_from_file_location(f"function_{name}",
                                                  ROOT / "functions" / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


def captured(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "tests" / "events" / f"{name}.json").read_text())
    return event


@pytest.fixture
def connections() -> Iterator[ApiGatewayConnections]:
    with mock_aws():
        create_connections_table(aws_client("dynamodb"))
        registry = ApiGatewayConnections(
            TABLE, aws_client("dynamodb"),
            aws_client("apigatewaymanagementapi", endpoint_url=ENDPOINT), lambda: 0.0)
        bootstrap.install(container(relay=Relay(registry, JwtTokens(SECRET))))
        yield registry
        bootstrap.install(None)


def connect(connection_id: str, subject: str, role: str) -> dict[str, Any]:
    token = JwtTokens(SECRET).issue(Principal(subject, role), 600)
    return function("ws_relay")({
        "requestContext": {"routeKey": "$connect", "connectionId": connection_id},
        "queryStringParameters": {"token": token}}, None)


def test_connect_registers_the_token_and_disconnect_removes_it(
        connections: ApiGatewayConnections) -> None:
    assert connect("conn-a", "sample-alice", "user") == {"statusCode": 200}
    ((connection_id, principal),) = connections.audience(["sample-alice"])
    assert (connection_id, principal.subject, principal.role) == (
        "conn-a", "sample-alice", "user")
    assert principal.expires_at_epoch_s is not None
    function("ws_relay")({"requestContext": {"routeKey": "$disconnect",
                                             "connectionId": "conn-a"}}, None)
    assert list(connections.audience(["sample-alice"])) == []


def test_a_bad_token_registers_nothing(connections: ApiGatewayConnections) -> None:
    refused = ws_event.handle({"requestContext": {"routeKey": "$connect", "connectionId": "x"},
                               "queryStringParameters": {"token": "forged"}})
    assert refused["statusCode"] == 401
    assert list(connections.audience(["sample-alice"])) == []


def test_each_socket_gets_only_what_it_may_see(connections: ApiGatewayConnections) -> None:
    connect("conn-a", "sample-alice", "user")
    connect("conn-b", "sample-bob", "user")
    connect("conn-c", "sample-carol", "user")
    connect("conn-o", "ops", "operator")
    result = function("ws_fanout")(captured("sqs_committed_events"), None)
    assert result == {"batchItemFailures": [{"itemIdentifier": BAD_RECORD}]}
    (alice,) = pushed_messages("conn-a")
    assert (alice["event"], alice["userId"], alice["balance"]) == (
        "balanceUpdated", "sample-alice", "5.00")
    assert [m["userId"] for m in pushed_messages("conn-b")] == ["sample-bob"]
    assert pushed_messages("conn-c") == []
    assert [m["userId"] for m in pushed_messages("conn-o")] == ["sample-alice", "sample-bob"]


def test_a_registry_outage_fails_only_the_records_it_touched(
        connections: ApiGatewayConnections) -> None:
    connect("conn-a", "sample-alice", "user")
    aws_client("dynamodb").delete_table(TableName=TABLE)
    event = captured("sqs_committed_events")
    result = function("ws_fanout")(event, None)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        r["messageId"] for r in event["Records"]]
