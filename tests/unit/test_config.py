"""config.py: read once from a mapping, cast, and fail naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
from wallet.config import SECRET_LENGTH_MIN, Config, ConfigError
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.domain.money import currency_of


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    config = Config.from_env({})
    assert (config.host, config.port, config.data_dir, config.jwt_secret) == (
        "127.0.0.1", 8000, Path(".wallet"), None)
    assert (config.wait_for_commit_ms, config.default_currency.code, config.amount_max) == (
        5000, "USD", "1000000000")
    assert (config.log_partitions, config.log_depth_max, config.batch_size_max) == (8, 10_000, 500)
    assert (config.handler_threads, config.waiters_max, config.log_level) == (64, 20_000, "INFO")


def test_values_are_read_and_cast() -> None:
    config = Config.from_env({
        "WALLET_HOST": " 0.0.0.0 ", "WALLET_PORT": "0", "WALLET_DATA_DIR": "/var/wallet",
        "WALLET_JWT_SECRET": "x" * SECRET_LENGTH_MIN, "WALLET_WAIT_FOR_COMMIT_MS": "0",
        "WALLET_DEFAULT_CURRENCY": "jpy", "WALLET_AMOUNT_MAX": "5000",
        "WALLET_LOG_PARTITIONS": "256", "WALLET_LOG_DEPTH_MAX": "1", "WALLET_BATCH_SIZE_MAX": "1",
        "WALLET_HANDLER_THREADS": "1024", "WALLET_WAITERS_MAX": "1", "WALLET_LOG_LEVEL": "debug",
    })
    assert (config.host, config.port, config.data_dir, config.jwt_secret) == (
        "0.0.0.0", 0, Path("/var/wallet"), "x" * SECRET_LENGTH_MIN)
    assert (config.wait_for_commit_ms, config.default_currency.code, config.amount_max) == (
        0, "JPY", "5000")
    assert (config.log_partitions, config.log_depth_max, config.batch_size_max) == (256, 1, 1)
    assert (config.handler_threads, config.waiters_max, config.log_level) == (1024, 1, "DEBUG")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("WALLET_HOST", ""),
        ("WALLET_HOST", "   "),
        ("WALLET_PORT", "abc"),
        ("WALLET_PORT", "-1"),
        ("WALLET_PORT", "65536"),
        ("WALLET_PORT", "80.0"),
        ("WALLET_PORT", ""),
        ("WALLET_DATA_DIR", ""),
        ("WALLET_JWT_SECRET", "x" * (SECRET_LENGTH_MIN - 1)),
        ("WALLET_JWT_SECRET", ""),
        ("WALLET_WAIT_FOR_COMMIT_MS", "60001"),
        ("WALLET_WAIT_FOR_COMMIT_MS", "5s"),
        ("WALLET_DEFAULT_CURRENCY", "XXX"),
        ("WALLET_DEFAULT_CURRENCY", "dollars"),
        ("WALLET_DEFAULT_CURRENCY", "€"),
        ("WALLET_AMOUNT_MAX", "1.5"),
        ("WALLET_AMOUNT_MAX", "0"),
        ("WALLET_AMOUNT_MAX", "-1"),
        ("WALLET_AMOUNT_MAX", "1e9"),
        ("WALLET_AMOUNT_MAX", "lots"),
        ("WALLET_LOG_PARTITIONS", "0"),
        ("WALLET_LOG_PARTITIONS", "257"),
        ("WALLET_LOG_DEPTH_MAX", "0"),
        ("WALLET_LOG_DEPTH_MAX", "1000001"),
        ("WALLET_BATCH_SIZE_MAX", "10001"),
        ("WALLET_HANDLER_THREADS", "0"),
        ("WALLET_WAITERS_MAX", "0"),
        ("WALLET_LOG_LEVEL", "TRACE"),
        ("WALLET_LOG_LEVEL", "ERROR"),
    ],
)
def test_a_bad_value_fails_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({key: value})
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}:")


@pytest.mark.parametrize("value", ["\u00b2", "\u2460"])
def test_a_non_ascii_digit_is_a_config_error(value: str) -> None:
    """str.isdigit() accepts '²' and '①', and int() then raises a bare ValueError."""
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"WALLET_PORT": value})
    assert caught.value.key == "WALLET_PORT"


def test_the_amount_maximum_accepts_zero_decimals() -> None:
    config = Config.from_env({"WALLET_AMOUNT_MAX": "250.00"})
    assert config.amount_minor_max(currency_of("USD")) == 25_000


@pytest.mark.parametrize(("code", "minor_max"), [("USD", 10**11), ("JPY", 10**9),
                                                 ("KWD", 10**12), ("CLF", 10**13)])
def test_amount_minor_max_is_the_maximum_in_each_currencys_minor_units(
    code: str, minor_max: int
) -> None:
    assert Config.from_env({}).amount_minor_max(currency_of(code)) == minor_max


def test_an_amount_maximum_no_balance_could_hold_is_refused() -> None:
    """A maximum above 2**63-1 minor units lets through amounts the store cannot write.

    Such a deposit is refused by the Book (balance_limit_exceeded), but the
    rejection is saved with its amount, the 64-bit insert overflows, and the
    consumer redelivers the failing batch for ever.
    """
    assert BALANCE_MINOR_MAX < 10**20  # so even JPY, with no minor digits, overflows
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"WALLET_AMOUNT_MAX": str(10**20)})
    assert caught.value.key == "WALLET_AMOUNT_MAX"



def test_the_embedded_engines_are_the_default() -> None:
    config = Config.from_env({})
    assert (config.kafka_bootstrap, config.database_url, config.redis_url) == (None, None, None)
    assert (config.kafka_topic, config.kafka_group, config.redis_namespace) == (
        "wallet.commands", "wallet-ledger", "wallet")


def test_each_distributed_engine_is_chosen_alone() -> None:
    config = Config.from_env({"WALLET_DATABASE_URL": "postgresql://app:pw@db:5432/ledger"})
    assert config.database_url == "postgresql://app:pw@db:5432/ledger"
    assert (config.kafka_bootstrap, config.redis_url) == (None, None)
    config = Config.from_env({"WALLET_KAFKA_BOOTSTRAP": "k1:9092,k2:9093",
                              "WALLET_REDIS_URL": "redis://cache:6379/2",
                              "WALLET_KAFKA_TOPIC": "cmds", "WALLET_KAFKA_GROUP": "ledger-2",
                              "WALLET_REDIS_NAMESPACE": "staging"})
    assert (config.kafka_bootstrap, config.redis_url) == ("k1:9092,k2:9093", "redis://cache:6379/2")
    assert (config.kafka_topic, config.kafka_group, config.redis_namespace) == (
        "cmds", "ledger-2", "staging")


@pytest.mark.parametrize(
    ("key", "value"),
    [("WALLET_DATABASE_URL", "mysql://db/ledger"), ("WALLET_DATABASE_URL", "db:5432"),
     ("WALLET_REDIS_URL", "http://cache"), ("WALLET_KAFKA_BOOTSTRAP", "kafka"),
     ("WALLET_KAFKA_BOOTSTRAP", "kafka:9092;rm -rf"), ("WALLET_KAFKA_TOPIC", "a topic"),
     ("WALLET_KAFKA_GROUP", "g/1"), ("WALLET_REDIS_NAMESPACE", "")],
)
def test_a_malformed_engine_setting_fails_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env({key: value})
    assert raised.value.key == key


def test_a_database_password_never_shows_in_the_config_or_its_errors() -> None:
    config = Config.from_env({"WALLET_DATABASE_URL": "postgresql://app:hunter2@db/ledger",
                              "WALLET_REDIS_URL": "redis://:hunter3@cache:6379/0",
                              "WALLET_JWT_SECRET": "s" * SECRET_LENGTH_MIN})
    assert "hunter2" not in repr(config) and "hunter3" not in repr(config)
    assert "s" * SECRET_LENGTH_MIN not in repr(config)
    with pytest.raises(ConfigError) as raised:
        Config.from_env({"WALLET_DATABASE_URL": "postgresql://app:hunter2@db /ledger"})
    assert "hunter2" not in str(raised.value)


def test_the_process_role_defaults_to_all_and_is_checked() -> None:
    assert Config.from_env({}).role == "all"
    assert Config.from_env({"WALLET_ROLE": "Consumer"}).role == "consumer"
    with pytest.raises(ConfigError) as raised:
        Config.from_env({"WALLET_ROLE": "janitor"})
    assert raised.value.key == "WALLET_ROLE"
