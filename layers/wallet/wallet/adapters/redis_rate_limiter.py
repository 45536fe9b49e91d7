"""Token buckets in Redis, shared by every gateway: one EVALSHA per check.

Key layout: `{namespace}:ratelimit:{kind}:{id}`, kind `user`, `operator` or
`address` (see RateLimits), holding the bucket's TAT in microseconds of
Redis's own clock (TIME), so gateways whose clocks disagree still share one
bucket. The key expires when the bucket is full again (PX = its debt): a
full bucket is the same as none, so idle callers leave nothing behind.

Outages fail open to this process's own buckets, never to no limit and never
to an error. A wallet must keep taking money movements through a Redis
blip, so the limiter cannot turn a Redis outage into an API outage; nor
should an outage lift the limits, so each gateway limits on its own meanwhile
(a caller spread over N gateways gets up to N times the rate). A check waits
at most CHECK_TIMEOUT_S on Redis; after a failure the next
OUTAGE_RETRY_INTERVAL_S of checks do not try Redis at all, so a stalled Redis
costs each process one timeout per interval, not one per request.
"""

import logging
import threading
import time
from collections.abc import Callable

from wallet.adapters.redis_client import FAILURES, open_client
from wallet.domain.rate_limits import Allowance, Rate
from wallet.service_layer.ports import RateLimiter

CHECK_TIMEOUT_S = 0.1  # a loopback or LAN answer takes well under a millisecond
OUTAGE_RETRY_INTERVAL_S = 1.0  # how long the local buckets stand in before Redis is tried again

log = logging.getLogger("wallet.ratelimit")

# domain.rate_limits.draw, in Lua: refill and take in one atomic step.
_TAKE = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval_us, capacity_us = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat_us = tonumber(redis.call('GET', KEYS[1])) or now_us
if tat_us < now_us then tat_us = now_us end
local debt_us = tat_us + interval_us - now_us
if debt_us > capacity_us then return {0, tat_us - now_us} end
redis.call('SET', KEYS[1], string.format('%.0f', now_us + debt_us),
           'PX', math.ceil(debt_us / 1000))
return {1, debt_us}
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, url: str, namespace: str, fallback: RateLimiter,
                 clock_s: Callable[[], float] = time.monotonic) -> None:
        self._client = open_client(url, timeout_s=CHECK_TIMEOUT_S)
        self._take = self._client.register_script(_TAKE)  # EVALSHA; EVAL once after a restart
        self._prefix, self._fallback, self._clock_s = f"{namespace}:ratelimit:", fallback, clock_s
        self._redis_again_at_s = 0.0
        self._lock = threading.Lock()

    def take(self, bucket: str, rate: Rate) -> Allowance:
        if self._clock_s() < self._redis_again_at_s:
            return self._fallback.take(bucket, rate)
        try:
            allowed, debt_us = self._take(keys=[self._prefix + bucket],
                                          args=[rate.interval_us, rate.capacity_us])
        except FAILURES as exc:
            self._outage(exc)
            return self._fallback.take(bucket, rate)
        self._recovered()
        return Allowance.of(bool(allowed), int(debt_us), rate)

    def close(self) -> None:
        self._client.close()

    def _outage(self, error: BaseException) -> None:
        with self._lock:
            if self._redis_again_at_s == 0.0:
                log.warning("rate limits kept in this process until Redis answers",
                            extra={"error": repr(error)})
            self._redis_again_at_s = self._clock_s() + OUTAGE_RETRY_INTERVAL_S

    def _recovered(self) -> None:
        if self._redis_again_at_s == 0.0:  # the common case: no lock
            return
        with self._lock:
            self._redis_again_at_s = 0.0
        log.info("rate limits shared through Redis again")
