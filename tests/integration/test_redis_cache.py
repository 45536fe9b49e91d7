"""adapters/redis_cache.py against real Redis: generations shared across processes, and outages.

Each `RedisBalanceCache` stands for one process. Normal tests share one
server under a unique namespace; outage tests break a private server, or cut
one instance off it through a proxy, the way a network partition would.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from wallet.adapters import redis_cache
from wallet.adapters.redis_cache import UNTRUSTED, RedisBalanceCache
from wallet.adapters.redis_client import SOCKET_TIMEOUT_S
from wallet.service_layer.ports import CachedBalances

from tests.services.redis import RedisServer, TcpProxy, shared_redis_url, unique_namespace

from .support import wait_until

TRUSTED_AGAIN_S = redis_cache.RECOVERY_PROBE_INTERVAL_S + 3.0  # slack for a loaded machine
FAIL_FAST_S = SOCKET_TIMEOUT_S + 0.5
DEGRADED_CALLS_S = 0.1  # 300 calls that must not touch Redis


@pytest.fixture
def namespace() -> str:
    return unique_namespace("cache")


@pytest.fixture
def cache(namespace: str) -> Iterator[RedisBalanceCache]:
    opened = RedisBalanceCache(shared_redis_url(), namespace)
    yield opened
    opened.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as private:
        yield private


def fill(cache: RedisBalanceCache, account_id: str, balances: dict[str, int]) -> int:
    generation = cache.get(account_id).generation
    cache.put(account_id, generation, balances)
    return generation


def test_a_miss_then_a_put_then_a_hit_keeps_integer_minor_units(cache: RedisBalanceCache) -> None:
    miss = cache.get("alice")
    assert miss.balances is None and miss.generation >= 0
    balances = {"USD": 10**17 + 1, "JPY": 0, "BHD": 1_234_567}  # beyond a double's precision
    cache.put("alice", miss.generation, balances)
    hit = cache.get("alice")
    assert hit.balances == balances and hit.generation == miss.generation
    assert all(type(minor) is int for minor in hit.balances.values())


def test_invalidate_drops_the_entry_and_moves_the_generation(cache: RedisBalanceCache) -> None:
    before = fill(cache, "alice", {"USD": 500})
    fill(cache, "bob", {"USD": 7})
    cache.invalidate(["alice", "bob", "carol"])
    after = cache.get("alice")
    assert after.balances is None and after.generation > before
    assert cache.get("bob").balances is None


def test_a_put_that_raced_an_invalidation_is_ignored(cache: RedisBalanceCache) -> None:
    stale = cache.get("alice").generation  # a reader misses and goes to the store...
    cache.invalidate(["alice"])  # ...while the consumer commits and invalidates
    cache.put("alice", stale, {"USD": 0})
    assert cache.get("alice").balances is None


def test_two_processes_share_generations(namespace: str) -> None:
    gateway, consumer = (RedisBalanceCache(shared_redis_url(), namespace) for _ in range(2))
    try:
        stale = gateway.get("alice").generation
        other_gateway_fill = fill(consumer, "alice", {"USD": 100})
        assert other_gateway_fill == stale and gateway.get("alice").balances == {"USD": 100}
        consumer.invalidate(["alice"])
        gateway.put("alice", stale, {"USD": 100})
        assert gateway.get("alice").balances is None
        assert consumer.get("alice").balances is None
    finally:
        gateway.close()
        consumer.close()


def test_namespaces_isolate(cache: RedisBalanceCache) -> None:
    other = RedisBalanceCache(shared_redis_url(), unique_namespace("cache"))
    try:
        fill(cache, "alice", {"USD": 500})
        assert other.get("alice").balances is None
    finally:
        other.close()


def test_a_lost_generation_restarts_above_every_value_it_had(
    cache: RedisBalanceCache, namespace: str
) -> None:
    stale = fill(cache, "alice", {"USD": 500})
    cache.invalidate(["alice"])
    raw = redis.Redis.from_url(shared_redis_url())
    raw.delete(f"{namespace}:balances:generation:alice")  # as an eviction or expiry would
    raw.close()
    cache.put("alice", stale, {"USD": 500})
    fresh = cache.get("alice")
    assert fresh.balances is None and fresh.generation > stale


def test_a_filler_from_before_a_restart_cannot_fill_after_it(server: RedisServer) -> None:
    cache = RedisBalanceCache(server.url, unique_namespace("cache"))
    try:
        stale = fill(cache, "alice", {"USD": 500})
        server.restart()  # empty: generations and the epoch are gone
        cache.put("alice", stale, {"USD": 500})
        wait_until(lambda: cache.get("alice").generation > stale, "a fresh generation",
                   TRUSTED_AGAIN_S)
        assert cache.get("alice").balances is None
    finally:
        cache.close()


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_an_outage_degrades_to_misses_fast_and_never_raises(
    server: RedisServer, outage: str
) -> None:
    cache = RedisBalanceCache(server.url, unique_namespace("cache"))
    try:
        generation = fill(cache, "alice", {"USD": 500})
        if outage == "stopped":
            server.stop()
        else:
            server.pause()  # a black hole: commands hang rather than fail
        started = time.monotonic()
        assert cache.get("alice").generation == UNTRUSTED  # pays the timeout, once
        assert time.monotonic() - started < FAIL_FAST_S
        started = time.monotonic()
        for _ in range(100):
            assert cache.get("alice").balances is None
            cache.put("alice", generation, {"USD": 1})
            cache.invalidate(["alice"])
        assert time.monotonic() - started < DEGRADED_CALLS_S
    finally:
        cache.close()


def test_the_cache_works_again_after_a_restart(server: RedisServer) -> None:
    cache = RedisBalanceCache(server.url, unique_namespace("cache"))
    try:
        fill(cache, "alice", {"USD": 500})
        server.stop()
        assert cache.get("alice").generation == UNTRUSTED
        server.restart()
        wait_until(lambda: cache.get("alice").generation != UNTRUSTED, "trust again",
                   TRUSTED_AGAIN_S)
        fill(cache, "alice", {"USD": 600})
        assert cache.get("alice").balances == {"USD": 600}
    finally:
        cache.close()


def test_suspect_orphans_every_entry_cached_before(cache: RedisBalanceCache) -> None:
    before = fill(cache, "alice", {"USD": 500})
    cache.suspect()  # what the gateway's subscription does on an outage
    assert cache.get("alice") == CachedBalances(UNTRUSTED, None)
    cache.put("alice", before, {"USD": 500})
    wait_until(lambda: cache.get("alice").generation != UNTRUSTED, "trust again",
               TRUSTED_AGAIN_S)
    after = cache.get("alice")
    assert after.balances is None and after.generation > before


def test_a_missed_invalidation_is_served_only_until_the_epoch_bump(server: RedisServer) -> None:
    """The residual window, measured: a gateway that saw no error serves the stale entry
    while the consumer is cut off, and stops once the consumer's probe bumps the epoch."""
    namespace, link = unique_namespace("cache"), TcpProxy(server.port)
    gateway = RedisBalanceCache(server.url, namespace)
    consumer = RedisBalanceCache(link.url, namespace)
    try:
        stale = fill(gateway, "alice", {"USD": 500})
        link.cut()  # the consumer commits a deposit, then cannot reach Redis
        consumer.invalidate(["alice"])
        assert consumer.get("alice").generation == UNTRUSTED
        assert gateway.get("alice").balances == {"USD": 500}, "the documented window"
        link.heal()
        wait_until(lambda: gateway.get("alice").balances is None, "the stale entry orphaned",
                   TRUSTED_AGAIN_S)
        gateway.put("alice", stale, {"USD": 500})  # a filler from before the bump
        assert gateway.get("alice").balances is None
        wait_until(lambda: consumer.get("alice").generation != UNTRUSTED, "trust again",
                   TRUSTED_AGAIN_S)
    finally:
        gateway.close()
        consumer.close()
        link.close()
