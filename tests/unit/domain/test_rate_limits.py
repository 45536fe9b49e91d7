"""domain/rate_limits.py: the GCRA step, the figures a caller is told, and who draws where."""

from __future__ import annotations

import pytest
from wallet.domain.rate_limits import (
    Allowance,
    Rate,
    RateLimits,
    address_bucket,
    draw,
)

SECOND_US = 1_000_000
RATE = Rate(per_s=2, burst=3)  # a token every 0.5 s, three at most


def test_a_rate_is_an_interval_rounded_up_so_it_is_never_exceeded() -> None:
    assert Rate(3, 1).interval_us == 333_334
    assert Rate(1_000_000, 1).interval_us == 1
    assert RATE.capacity_us == 3 * 500_000


def test_a_full_bucket_gives_its_burst_at_once_then_refuses() -> None:
    tat, answers = None, []
    for _ in range(4):
        allowed, debt = draw(tat, 0, RATE)
        answers.append((allowed, debt))
        if allowed:
            tat = debt
    assert answers == [(True, 500_000), (True, 1_000_000), (True, 1_500_000),
                       (False, 1_500_000)]


def test_a_refusal_costs_nothing_and_time_refills() -> None:
    tat = 1_500_000  # empty at t=0
    assert draw(tat, 0, RATE) == (False, 1_500_000)
    assert draw(tat, 499_999, RATE) == (False, 1_000_001)
    assert draw(tat, 500_000, RATE) == (True, 1_500_000)


def test_an_old_bucket_is_a_full_one() -> None:
    assert draw(5, 10 * SECOND_US, RATE) == draw(None, 10 * SECOND_US, RATE)


@pytest.mark.parametrize(("allowed", "debt_us", "expected"), [
    (True, 500_000, Allowance(True, 3, 2, 1, 0)),
    (True, 1_500_000, Allowance(True, 3, 0, 2, 0)),
    (False, 1_500_000, Allowance(False, 3, 0, 2, 1)),  # a token in 0.5 s: Retry-After 1
    (False, 1_000_001, Allowance(False, 3, 0, 2, 1)),  # 1 µs short of a token: still 1 s
])
def test_the_figures_a_caller_is_told(allowed: bool, debt_us: int, expected: Allowance) -> None:
    assert Allowance.of(allowed, debt_us, RATE) == expected


def test_retry_after_counts_whole_seconds_up_to_the_next_token() -> None:
    slow = Rate(per_s=1, burst=1)
    assert Allowance.of(False, 1_000_000, slow).retry_after_s == 1
    slower = Rate(per_s=1, burst=10)
    empty = Allowance.of(False, 10 * SECOND_US, slower)
    assert (empty.retry_after_s, empty.reset_s, empty.remaining) == (1, 10, 0)


def test_operators_and_users_draw_on_separate_buckets() -> None:
    limits = RateLimits(user=Rate(1, 1), operator=Rate(5, 10), unauthenticated=None)
    assert limits.for_caller("ops", is_operator=True) == ("operator:ops", Rate(5, 10))
    assert limits.for_caller("ops", is_operator=False) == ("user:ops", Rate(1, 1))
    assert limits.for_stranger("203.0.113.7") is None


def test_the_defaults_limit_users_and_strangers_but_not_operators() -> None:
    limits = RateLimits()
    assert limits.user == Rate(50, 100)
    assert limits.unauthenticated == Rate(20, 40)
    assert limits.for_caller("ops", is_operator=True) is None


@pytest.mark.parametrize(("address", "bucket"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # the same /64: the same client
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("", "unknown"),
    ("not an address", "unknown"),
])
def test_strangers_are_counted_by_address(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
