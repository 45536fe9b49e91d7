"""Token buckets: who draws on which one, how fast it refills, and what its state tells a caller.

A bucket is kept as GCRA keeps it (ATM's generic cell rate algorithm, ITU-T
I.371: a token bucket in another form): one number, the theoretical arrival time
(TAT), the instant at which the bucket is full again. Taking a token pushes
the TAT one interval (1 s / rate) later; a take is refused when that would
put the TAT more than `burst` intervals ahead of now. So a bucket's whole
state is one integer, and a full bucket is the same as none at all: a store
may forget a bucket once its TAT has passed. `draw` is the step, and the
Redis adapter's script is the same step in Lua; both are tested on one
table of cases.
"""

import ipaddress
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

MICROSECONDS_PER_S = 1_000_000
PER_S_MAX = 1_000_000  # one token per microsecond: the clock's resolution
BURST_MAX = 10_000_000
IPV6_PREFIX_BITS = 64  # one subscriber's share of IPv6: a client holds a whole /64 for free


@dataclass(frozen=True)
class Rate:
    per_s: int
    burst: int

    def __post_init__(self) -> None:
        assert 0 < self.per_s <= PER_S_MAX and 0 < self.burst <= BURST_MAX, "checked by config"

    @cached_property  # read on every check
    def interval_us(self) -> int:
        """Microseconds per token, rounded up: the rate is never exceeded."""
        return -(-MICROSECONDS_PER_S // self.per_s)

    @cached_property
    def capacity_us(self) -> int:
        return self.interval_us * self.burst


@dataclass(frozen=True)
class RateLimits:
    """The buckets' rates by kind of caller; None is unlimited (no bucket, no I/O)."""

    user: Rate | None = Rate(50, 100)
    operator: Rate | None = None  # operators are services: their own backpressure applies
    unauthenticated: Rate | None = Rate(20, 40)  # per client address, failed authentications

    def for_caller(self, subject: str, is_operator: bool) -> tuple[str, Rate] | None:
        """The bucket's key and rate; operator and user keys differ, as their rates do."""
        if is_operator:
            return None if self.operator is None else (f"operator:{subject}", self.operator)
        return None if self.user is None else (f"user:{subject}", self.user)

    def for_stranger(self, address: str) -> tuple[str, Rate] | None:
        if self.unauthenticated is None:
            return None
        return f"address:{address_bucket(address)}", self.unauthenticated


UNLIMITED = RateLimits(user=None, operator=None, unauthenticated=None)


class Allowance(NamedTuple):
    """A bucket after one take: whether it passed, and the RateLimit-* figures for the caller.

    A tuple, not a frozen dataclass: one is made per request, and this is five times cheaper.
    """

    allowed: bool
    limit: int  # the burst: what a full bucket holds
    remaining: int  # whole tokens left
    reset_s: int  # seconds until the bucket is full again
    retry_after_s: int  # when refused: seconds until one token is there (at least 1); else 0

    @classmethod
    def of(cls, allowed: bool, debt_us: int, rate: Rate) -> "Allowance":
        """From the bucket's debt: how far its TAT lies ahead of now, after the take (or,
        refused, as it stands)."""
        remaining = max(0, (rate.capacity_us - debt_us) // rate.interval_us)
        wait_us = debt_us - rate.capacity_us + rate.interval_us
        retry_after_s = 0 if allowed else max(1, _seconds_up(wait_us))
        return cls(allowed, rate.burst, remaining, _seconds_up(debt_us), retry_after_s)


def draw(tat_us: int | None, now_us: int, rate: Rate) -> tuple[bool, int]:
    """One take from a bucket whose TAT is `tat_us` (None: no bucket, i.e. full).

    Returns (allowed, debt_us). The new TAT is now + debt when allowed, and
    unchanged when refused: a refused request costs its caller nothing.
    """
    tat_us = now_us if tat_us is None else max(tat_us, now_us)
    debt_us = tat_us + rate.interval_us - now_us
    if debt_us > rate.capacity_us:
        return False, tat_us - now_us
    return True, debt_us


def address_bucket(address: str) -> str:
    """The address a stranger is counted by: IPv4 as is, IPv6 by its /64, anything else as
    one shared bucket (an event without a source address is not a reason to let it pass)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX_BITS), strict=False))
    return str(parsed)


def _seconds_up(microseconds: int) -> int:
    return max(0, -(-microseconds // MICROSECONDS_PER_S))
