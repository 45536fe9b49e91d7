"""What every RateLimiter must do, checked against the in-process one here and against Redis in
tests/integration: the same takes give the same answers."""

from wallet.domain.rate_limits import Allowance, Rate
from wallet.service_layer.ports import RateLimiter

# One token a second: nothing refills noticeably while the four takes below run.
SLOW = Rate(per_s=1, burst=3)
BURST_THEN_REFUSAL = [
    Allowance(allowed=True, limit=3, remaining=2, reset_s=1, retry_after_s=0),
    Allowance(allowed=True, limit=3, remaining=1, reset_s=2, retry_after_s=0),
    Allowance(allowed=True, limit=3, remaining=0, reset_s=3, retry_after_s=0),
    Allowance(allowed=False, limit=3, remaining=0, reset_s=3, retry_after_s=1),
]


def check_burst_then_refusal(limiter: RateLimiter, bucket: str) -> None:
    answers = [limiter.take(bucket, SLOW) for _ in BURST_THEN_REFUSAL]
    assert answers == BURST_THEN_REFUSAL


def check_buckets_are_apart(limiter: RateLimiter, bucket: str, other: str) -> None:
    one = Rate(per_s=1, burst=1)
    assert limiter.take(bucket, one).allowed
    assert not limiter.take(bucket, one).allowed
    assert limiter.take(other, one).allowed
