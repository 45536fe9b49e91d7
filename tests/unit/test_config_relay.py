"""config.py: the relay's AWS settings, each checked at start-up."""

from __future__ import annotations

import pytest
from wallet.config import Config, ConfigError

TABLE = {"WALLET_CONNECTIONS_TABLE": "wallet-connections",
         "WALLET_WEBSOCKET_ENDPOINT": "http://localhost:4566/_aws/execute-api/abc123/prod"}


def test_unset_means_the_in_memory_registry_and_no_queue() -> None:
    config = Config.from_env({})
    assert (config.connections_table, config.websocket_endpoint, config.events_queue_url) == (
        None, None, None)


def test_the_registry_and_the_queue_are_read() -> None:
    queue = "http://sqs.us-east-1.localhost:4566/000000000000/wallet-events"
    config = Config.from_env({**TABLE, "WALLET_EVENTS_QUEUE_URL": queue})
    assert config.connections_table == "wallet-connections"
    assert config.websocket_endpoint == TABLE["WALLET_WEBSOCKET_ENDPOINT"]
    assert config.events_queue_url == queue


def test_a_registry_without_an_endpoint_cannot_reach_its_sockets() -> None:
    with pytest.raises(ConfigError) as error:
        Config.from_env({"WALLET_CONNECTIONS_TABLE": "wallet-connections"})
    assert error.value.key == "WALLET_WEBSOCKET_ENDPOINT"


@pytest.mark.parametrize(("key", "value"), [
    ("WALLET_CONNECTIONS_TABLE", "no spaces"), ("WALLET_CONNECTIONS_TABLE", "ab"),
    ("WALLET_WEBSOCKET_ENDPOINT", "wss://abc.execute-api.eu-west-1.amazonaws.com/prod"),
    ("WALLET_WEBSOCKET_ENDPOINT", "abc.execute-api.eu-west-1.amazonaws.com"),
    ("WALLET_EVENTS_QUEUE_URL", "sqs://wallet-events"),
])
def test_a_malformed_relay_setting_fails_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config.from_env({**TABLE, key: value})
    assert error.value.key == key
