"""WALLET_METRICS_PORT and WALLET_METRICS_HOST: the separate, unauthenticated listener."""

import pytest
from wallet.config import Config, ConfigError


def test_no_metrics_listener_unless_a_port_is_configured() -> None:
    config = Config.from_env({})
    assert config.metrics_port is None
    assert config.metrics_host == "127.0.0.1"


def test_a_metrics_port_and_host_are_read() -> None:
    config = Config.from_env({"WALLET_METRICS_PORT": "9464", "WALLET_METRICS_HOST": "0.0.0.0"})
    assert (config.metrics_port, config.metrics_host) == (9464, "0.0.0.0")


@pytest.mark.parametrize("raw", ["-1", "65536", "http", "1.5"])
def test_a_bad_metrics_port_fails_naming_its_key(raw: str) -> None:
    with pytest.raises(ConfigError) as failure:
        Config.from_env({"WALLET_METRICS_PORT": raw})
    assert failure.value.key == "WALLET_METRICS_PORT"
