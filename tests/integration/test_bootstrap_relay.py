"""bootstrap.py: the AWS relay adapters are chosen by the config, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from moto import mock_aws
from wallet import bootstrap
from wallet.adapters.apigateway_connections import ApiGatewayConnections
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.sqs_events import QueuedPubSub
from wallet.config import Config

from ..unit.adapters.aws import ENDPOINT, REGION, TABLE


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)  # boto3 reads its region nowhere else


def built(tmp_path: Path, **env: str) -> bootstrap.Container:
    return bootstrap.build(Config.from_env({"WALLET_DATA_DIR": str(tmp_path), **env}))


def test_unset_keeps_the_local_registry_and_pubsub(tmp_path: Path) -> None:
    container = built(tmp_path)
    assert isinstance(container.relay._connections, MemoryConnections)
    assert not isinstance(container.pubsub, QueuedPubSub)
    container.close()


def test_a_table_and_a_queue_choose_the_aws_adapters(tmp_path: Path) -> None:
    with mock_aws():
        container = built(tmp_path, WALLET_CONNECTIONS_TABLE=TABLE,
                          WALLET_WEBSOCKET_ENDPOINT=ENDPOINT,
                          WALLET_EVENTS_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/q")
        assert isinstance(container.relay._connections, ApiGatewayConnections)
        assert isinstance(container.pubsub, QueuedPubSub)
        container.close()
