"""moto-backed AWS for adapter tests: the connections table as template.yaml declares it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

REGION = "us-east-1"
TABLE = "wallet-connections"
ENDPOINT = "https://ws123.execute-api.us-east-1.amazonaws.com/prod"


def aws_client(service: str, **options: Any) -> Any:
    return boto3.client(service, region_name=REGION, **options)


def create_connections_table(dynamodb: Any, name: str = TABLE) -> None:
    """The schema of /work/notes/relay-contract.md, which template.yaml matches."""
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"},
                              {"AttributeName": "audience", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "audience-index",
            "KeySchema": [{"AttributeName": "audience", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}])
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "expiresAt"})


def pushed(connection_id: str) -> bytes:
    """What moto's Management API was asked to post to this connection, all of it joined."""
    return apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION].connections[
        connection_id].data


def pushed_messages(connection_id: str) -> list[Any]:
    """moto joins the posts to one connection; each was one JSON document."""
    text, decoder, messages, at = pushed(connection_id).decode(), json.JSONDecoder(), [], 0
    while at < len(text):
        message, at = decoder.raw_decode(text, at)
        messages.append(message)
    return messages
