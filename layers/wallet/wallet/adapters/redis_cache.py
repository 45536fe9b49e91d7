"""The balance cache in Redis, shared by every gateway and consumer of a stack.

The contract is MemoryBalanceCache's: an invalidation moves a wallet's
generation, and a reader who missed may fill only while it still holds the
current one. Each check-and-write is one Lua script, so it is atomic.

Generations. A generation is `epoch << 64 | counter`; Lua only compares
their decimal strings, since its numbers are doubles. Each part is a hybrid
clock, max(previous + 1, Redis time in microseconds): it only grows, and when
it is lost (a key expired or was evicted, or Redis restarted empty) it starts
again above every value it ever had. So a filler's generation can never come
back (no ABA), short of the Redis host's clock stepping back by more than the
time the key was gone. (TIME inside a writing script needs Redis 5 or later.)

Outages. A failed call makes this instance suspect: `get` misses with a
generation `put` ignores, `put` and `invalidate` do nothing and never raise,
and none of them waits on Redis again, so an outage costs one timeout. A
background probe retries every RECOVERY_PROBE_INTERVAL_S, and trust comes
back only once it has bumped the epoch, after the last failure or skipped
invalidation: that orphans every entry cached before, including any this
instance failed to invalidate.

The residual window: another instance that saw no error may serve such an
entry until the probe's bump. That is at most RECOVERY_PROBE_INTERVAL_S once
Redis answers this instance again. When Redis itself went down or stalled,
a gateway whose subscription noticed (`on_outage` calling `suspect()`) stops
serving entries then, and bumps the epoch itself. If only the consumer is
cut off from Redis, though, the window lasts as long as the partition,
bounded by the entry TTL.
"""

import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from wallet.adapters.redis_client import FAILURES, open_client
from wallet.service_layer.ports import BalanceCache, CachedBalances

ENTRY_TTL_S = 60  # also bounds how long a partitioned consumer's missed invalidation can last
GENERATION_TTL_S = 86_400  # only frees idle wallets' keys: a lost generation restarts higher
RECOVERY_PROBE_INTERVAL_S = 1.0  # a suspect instance sends Redis nothing but this probe
PROBE_JOIN_TIMEOUT_S = 1.0  # one probe in flight finishes within the client's timeouts
INVALIDATE_ACCOUNTS_PER_SCRIPT_MAX = 500  # bounds how long one script blocks Redis
UNTRUSTED = -1  # the generation of a miss that must not be filled
_COUNTER_BITS = 64  # counters are microseconds since 1970: below 2**53 until the year 2255

log = logging.getLogger("wallet.cache")

_CLOCK = """
local function clock()
  local now = redis.call('TIME')
  return now[1] .. string.format('%06d', now[2])
end
local function advance(key)
  local now = clock()
  if redis.call('INCR', key) < tonumber(now) then redis.call('SET', key, now) end
end
"""
_GET = _CLOCK + """
local epoch = redis.call('GET', KEYS[1])
if not epoch then return false end
local counter = redis.call('GET', KEYS[2])
if not counter then
  counter = clock()
  redis.call('SET', KEYS[2], counter, 'EX', ARGV[1])
end
return {epoch, counter, redis.call('GET', KEYS[3])}
"""
_PUT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return 1
"""
_INVALIDATE = _CLOCK + """
for i = 1, #KEYS, 2 do
  advance(KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
  redis.call('DEL', KEYS[i + 1])
end
return 1
"""
_BUMP_EPOCH = _CLOCK + "advance(KEYS[1]) return 1"


class RedisBalanceCache(BalanceCache):
    def __init__(self, url: str, namespace: str, ttl_s: int = ENTRY_TTL_S) -> None:
        self._client = open_client(url)
        self._prefix, self._ttl_s = f"{namespace}:balances", ttl_s
        self._get = self._client.register_script(_GET)
        self._put = self._client.register_script(_PUT)
        self._invalidate = self._client.register_script(_INVALIDATE)
        self._bump_epoch = self._client.register_script(_BUMP_EPOCH)
        self._trust = _Trust(self._bump)

    def get(self, account_id: str) -> CachedBalances:
        if not self._trust.trusted():
            return CachedBalances(UNTRUSTED, None)
        try:
            return self._read(account_id)
        except FAILURES as exc:
            self._trust.doubt(exc)
            return CachedBalances(UNTRUSTED, None)

    def put(self, account_id: str, generation: int, balances: Mapping[str, int]) -> None:
        assert all(type(minor) is int for minor in balances.values()), "minor units are ints"
        if generation < 0 or not self._trust.trusted():
            return
        epoch, counter = str(generation >> _COUNTER_BITS), str(generation % (1 << _COUNTER_BITS))
        stored = {"epoch": epoch, "counter": counter, "balances": dict(balances)}
        try:
            self._put(keys=self._keys(account_id), args=[epoch, counter, json.dumps(stored),
                                                         self._ttl_s])
        except FAILURES as exc:
            self._trust.doubt(exc)

    def invalidate(self, account_ids: Collection[str]) -> None:
        if not account_ids:
            return
        if not self._trust.trusted():
            self._trust.doubt(None)  # skipped: the next epoch bump must come after this
            return
        try:
            self._send_invalidations(sorted(set(account_ids)))
        except FAILURES as exc:
            self._trust.doubt(exc)

    def suspect(self) -> None:
        """Stop trusting Redis until the epoch is bumped: e.g. a subscription saw an outage."""
        self._trust.doubt(None)

    def close(self) -> None:
        self._trust.close()
        self._client.close()

    def _read(self, account_id: str) -> CachedBalances:
        found = self._get(keys=self._keys(account_id), args=[GENERATION_TTL_S])
        if not found:  # the epoch is gone: Redis restarted or evicted it, and lost entries too
            self._bump()
            found = self._get(keys=self._keys(account_id), args=[GENERATION_TTL_S])
        if not found:
            return CachedBalances(UNTRUSTED, None)
        epoch, counter, entry = found
        generation = (int(epoch) << _COUNTER_BITS) | int(counter)
        return CachedBalances(generation, _balances(entry, epoch, counter))

    def _send_invalidations(self, account_ids: Sequence[str]) -> None:
        """One round trip per chunk; a consumer's batch rarely needs more than one."""
        step = INVALIDATE_ACCOUNTS_PER_SCRIPT_MAX
        for start in range(0, len(account_ids), step):
            keys = [key for account_id in account_ids[start:start + step]
                    for key in self._keys(account_id)[1:]]
            self._invalidate(keys=keys, args=[GENERATION_TTL_S])

    def _bump(self) -> None:
        self._bump_epoch(keys=[f"{self._prefix}:epoch"])

    def _keys(self, account_id: str) -> list[str]:
        """The epoch, the wallet's generation and its entry: the order every script expects."""
        return [f"{self._prefix}:epoch", f"{self._prefix}:generation:{account_id}",
                f"{self._prefix}:entry:{account_id}"]


def _balances(entry: str | None, epoch: str, counter: str) -> dict[str, int] | None:
    """The stored balances if they were stored under this very generation; else a miss.

    An entry in another shape (say, from another release during a rolling
    deploy) is a miss too, and the next fill overwrites it.
    """
    if entry is None:
        return None
    try:
        stored: Any = json.loads(entry)
    except ValueError:
        return None
    if not isinstance(stored, dict) or (stored.get("epoch"), stored.get("counter")) != (
            epoch, counter):
        return None
    balances = stored.get("balances")
    if not isinstance(balances, dict) or any(type(m) is not int for m in balances.values()):
        return None
    return {str(currency): minor for currency, minor in balances.items()}


class _Trust:
    """Whether this instance may believe Redis, and the probe that earns that back."""

    def __init__(self, bump_epoch: Callable[[], None]) -> None:
        self._bump_epoch = bump_epoch
        self._lock = threading.Lock()
        self._doubts = 0  # failures and skipped invalidations so far
        self._trusted = True
        self._prober: threading.Thread | None = None
        self._closed = threading.Event()

    def trusted(self) -> bool:
        return self._trusted

    def doubt(self, error: BaseException | None) -> None:
        with self._lock:
            self._doubts += 1
            if not self._trusted:
                return
            self._trusted = False
            log.warning("redis cache distrusted until its epoch is bumped",
                        extra={"error": repr(error)})
            self._prober = threading.Thread(target=self._probe, name="redis-cache-probe",
                                            daemon=True)
            self._prober.start()

    def close(self) -> None:
        self._closed.set()
        prober = self._prober
        if prober is not None:
            prober.join(PROBE_JOIN_TIMEOUT_S)

    def _probe(self) -> None:
        while not self._closed.wait(RECOVERY_PROBE_INTERVAL_S):
            with self._lock:
                doubts_before = self._doubts
            try:
                self._bump_epoch()
            except FAILURES:
                continue
            with self._lock:
                if self._doubts == doubts_before:  # nothing went wrong since the bump began
                    self._trusted = True
                    log.info("redis cache trusted again: epoch bumped")
                    return
