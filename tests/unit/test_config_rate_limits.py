"""config.py: the rate limits, read once and checked, each failure naming its key."""

from __future__ import annotations

import pytest
from wallet.config import Config, ConfigError
from wallet.domain.rate_limits import Rate, RateLimits


def test_the_defaults_limit_users_and_failed_authentications_only() -> None:
    limits = Config.from_env({}).rate_limits
    assert limits == RateLimits(user=Rate(50, 100), operator=None,
                                unauthenticated=Rate(20, 40))


def test_every_rate_and_burst_is_read() -> None:
    limits = Config.from_env({
        "WALLET_RATE_LIMIT_USER_PER_S": "5", "WALLET_RATE_LIMIT_USER_BURST": "7",
        "WALLET_RATE_LIMIT_OPERATOR_PER_S": "1000", "WALLET_RATE_LIMIT_OPERATOR_BURST": "3000",
        "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "2",
        "WALLET_RATE_LIMIT_UNAUTHENTICATED_BURST": "9"}).rate_limits
    assert limits == RateLimits(Rate(5, 7), Rate(1000, 3000), Rate(2, 9))


def test_an_unset_burst_is_twice_the_rate() -> None:
    limits = Config.from_env({"WALLET_RATE_LIMIT_USER_PER_S": "8",
                              "WALLET_RATE_LIMIT_OPERATOR_PER_S": "500",
                              "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "1"}).rate_limits
    assert (limits.user, limits.operator, limits.unauthenticated) == (
        Rate(8, 16), Rate(500, 1000), Rate(1, 2))


def test_zero_is_unlimited() -> None:
    limits = Config.from_env({"WALLET_RATE_LIMIT_USER_PER_S": "0",
                              "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "0"}).rate_limits
    assert limits == RateLimits(None, None, None)


@pytest.mark.parametrize(("key", "value"), [
    ("WALLET_RATE_LIMIT_USER_PER_S", "-1"), ("WALLET_RATE_LIMIT_USER_PER_S", "1.5"),
    ("WALLET_RATE_LIMIT_USER_PER_S", "1000001"), ("WALLET_RATE_LIMIT_USER_BURST", "0"),
    ("WALLET_RATE_LIMIT_USER_BURST", "10000001"), ("WALLET_RATE_LIMIT_USER_BURST", "lots"),
    ("WALLET_RATE_LIMIT_OPERATOR_PER_S", "x"),
    ("WALLET_RATE_LIMIT_UNAUTHENTICATED_BURST", "0"),
    ("WALLET_RATE_LIMIT_OPERATOR_BURST", "10"),  # a burst with no rate (0: unlimited) to shape
])
def test_a_bad_rate_limit_fails_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config.from_env({key: value})
    assert error.value.key == key
