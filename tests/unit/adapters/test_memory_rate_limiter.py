"""adapters/memory_rate_limiter.py: token buckets in process, on a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass

from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.domain.rate_limits import Rate

from .rate_limiter_contract import check_buckets_are_apart, check_burst_then_refusal

SECOND_US = 1_000_000


@dataclass
class Clock:
    now_us: int = 1_000 * SECOND_US

    def __call__(self) -> int:
        return self.now_us


def test_a_full_bucket_gives_its_burst_then_refuses() -> None:
    check_burst_then_refusal(MemoryRateLimiter(clock_us=Clock()), "user:alice")


def test_buckets_are_kept_apart() -> None:
    check_buckets_are_apart(MemoryRateLimiter(clock_us=Clock()), "user:alice", "user:bob")


def test_tokens_come_back_at_the_rate() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock_us=clock)
    rate = Rate(per_s=10, burst=2)
    assert [limiter.take("b", rate).allowed for _ in range(3)] == [True, True, False]
    clock.now_us += 99_999
    assert not limiter.take("b", rate).allowed
    clock.now_us += 1
    assert limiter.take("b", rate).allowed
    assert not limiter.take("b", rate).allowed


def test_a_refused_take_does_not_push_the_next_token_further_away() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock_us=clock)
    rate = Rate(per_s=1, burst=1)
    limiter.take("b", rate)
    for _ in range(100):  # a flood of refusals...
        assert not limiter.take("b", rate).allowed
    clock.now_us += SECOND_US
    assert limiter.take("b", rate).allowed  # ...changes nothing for the next second


def test_a_bucket_that_refilled_is_full_again() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock_us=clock)
    rate = Rate(per_s=1, burst=5)
    for _ in range(5):
        limiter.take("b", rate)
    clock.now_us += 60 * SECOND_US  # far longer than the burst takes to refill
    assert limiter.take("b", rate).remaining == 4


def test_memory_is_bounded_by_the_cap_dropping_the_least_recently_used() -> None:
    limiter = MemoryRateLimiter(buckets_max=2, clock_us=Clock())
    one = Rate(per_s=1, burst=1)
    limiter.take("a", one)
    limiter.take("b", one)
    limiter.take("a", one)  # refused, and now the most recently used
    limiter.take("c", one)
    assert len(limiter) == 2
    assert not limiter.take("a", one).allowed, "a was used last: kept"
    assert limiter.take("b", one).allowed, "b was dropped: a full bucket again"
