"""Token buckets in this process: the limiter without Redis, and Redis's stand-in in an outage.

A bucket is its TAT (see domain/rate_limits.py), kept in LRU order under a
cap, so memory stays bounded whoever calls. A full bucket equals none, so the
least recently used entries are mostly full ones already; evicting one that
is not only hands its caller a fresh burst, and it takes BUCKETS_MAX other
callers in between to get there.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from wallet.domain.rate_limits import Allowance, Rate, draw
from wallet.service_layer.ports import RateLimiter

BUCKETS_MAX = 100_000  # about 150 bytes each: 15 MB at most


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class MemoryRateLimiter(RateLimiter):
    def __init__(self, buckets_max: int = BUCKETS_MAX,
                 clock_us: Callable[[], int] = monotonic_us) -> None:
        assert buckets_max > 0
        self._buckets_max, self._clock_us = buckets_max, clock_us
        self._tats: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()  # Lambda-style handlers may call from several threads

    def take(self, bucket: str, rate: Rate) -> Allowance:
        now_us = self._clock_us()
        with self._lock:
            tat_us = self._tats.pop(bucket, None)
            allowed, debt_us = draw(tat_us, now_us, rate)
            if allowed:
                tat_us = now_us + debt_us
            if tat_us is not None and tat_us > now_us:
                self._tats[bucket] = tat_us
                if len(self._tats) > self._buckets_max:
                    self._tats.popitem(last=False)
        return Allowance.of(allowed, debt_us, rate)

    def __len__(self) -> int:
        return len(self._tats)
