"""Rate limiting: every authenticated request draws on its caller's bucket, and every failed
authentication on its client address's.

Both runtimes pass here: the HTTP edge (`entrypoints/api.py`, the local
runtime's unrouted paths) awaits `admit`, and the websocket relay's
`$connect` calls `check` on the thread it already runs on. An unlimited kind
of caller (operators, by default) costs nothing: no bucket, no I/O.
"""

from wallet.domain.access import Principal
from wallet.domain.errors import RateLimited
from wallet.domain.rate_limits import Allowance, Rate, RateLimits
from wallet.service_layer.offload import Offload, inline
from wallet.service_layer.ports import NO_METRICS, Metrics, RateLimiter


class Throttle:
    def __init__(self, limiter: RateLimiter, limits: RateLimits,
                 offload: Offload = inline, metrics: Metrics = NO_METRICS) -> None:
        self._limiter, self._limits, self._offload = limiter, limits, offload
        self._metrics = metrics

    def check(self, principal: Principal) -> Allowance | None:
        """Takes a token from this caller's bucket; None when the caller is unlimited."""
        bucket = self._limits.for_caller(principal.subject, principal.is_operator)
        return None if bucket is None else self._take(*bucket)

    def check_stranger(self, address: str) -> Allowance | None:
        """Takes a token for a failed authentication from `address`."""
        bucket = self._limits.for_stranger(address)
        return None if bucket is None else self._take(*bucket)

    async def admit(self, principal: Principal) -> Allowance | None:
        if self._limits.for_caller(principal.subject, principal.is_operator) is None:
            return None  # no hop to a thread for a caller who is never limited
        return await self._offload(self.check, principal)

    async def admit_stranger(self, address: str) -> Allowance | None:
        if self._limits.unauthenticated is None:
            return None
        return await self._offload(self.check_stranger, address)

    def close(self) -> None:
        self._limiter.close()

    def _take(self, bucket: str, rate: Rate) -> Allowance:
        allowance = self._limiter.take(bucket, rate)
        if not allowance.allowed:
            self._metrics.rate_limited(bucket.partition(":")[0])
            raise RateLimited(f"too many requests; retry in {allowance.retry_after_s} s",
                              allowance)
        return allowance
