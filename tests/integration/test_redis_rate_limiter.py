"""adapters/redis_rate_limiter.py against real Redis: one bucket for every gateway, keys that
vanish once full, and an outage that falls back to per-process buckets without an error."""

import threading
import time

import redis
from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.adapters.redis_rate_limiter import RedisRateLimiter
from wallet.domain.rate_limits import Rate

from tests.services.redis import RedisServer, shared_redis_url, unique_namespace
from tests.unit.adapters.rate_limiter_contract import (
    check_buckets_are_apart,
    check_burst_then_refusal,
)

from .support import unique

ONE = Rate(per_s=1, burst=1)
REFILL_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.02


def limiter(url: str = "", namespace: str = "") -> RedisRateLimiter:
    return RedisRateLimiter(url or shared_redis_url(), namespace or unique_namespace("rl"),
                            MemoryRateLimiter())


def test_a_full_bucket_gives_its_burst_then_refuses() -> None:
    shared = limiter()
    check_burst_then_refusal(shared, unique("user:"))
    shared.close()


def test_buckets_are_kept_apart() -> None:
    shared = limiter()
    check_buckets_are_apart(shared, unique("user:"), unique("user:"))
    shared.close()


def test_two_gateways_draw_on_one_bucket() -> None:
    namespace, bucket = unique_namespace("rl"), unique("user:")
    first, second = limiter(namespace=namespace), limiter(namespace=namespace)
    rate = Rate(per_s=1, burst=2)
    assert first.take(bucket, rate).remaining == 1
    assert second.take(bucket, rate).remaining == 0
    assert not first.take(bucket, rate).allowed
    first.close()
    second.close()


def test_racing_gateways_never_hand_out_more_than_the_burst() -> None:
    namespace, bucket = unique_namespace("rl"), unique("user:")
    gateways = [limiter(namespace=namespace) for _ in range(4)]
    rate = Rate(per_s=1, burst=10)
    allowed: list[bool] = []

    def flood(gateway: RedisRateLimiter) -> None:
        allowed.extend(gateway.take(bucket, rate).allowed for _ in range(10))

    threads = [threading.Thread(target=flood, args=(gateway,)) for gateway in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 10 <= allowed.count(True) <= 11, "10, and at most one more refilled meanwhile"
    for gateway in gateways:
        gateway.close()


def test_a_bucket_is_one_key_in_the_namespace_that_expires_once_full() -> None:
    namespace, bucket = unique_namespace("rl"), unique("user:")
    shared = limiter(namespace=namespace)
    rate = Rate(per_s=1, burst=5)
    shared.take(bucket, rate)
    client = redis.Redis.from_url(shared_redis_url())
    assert client.keys(f"{namespace}:*") == [f"{namespace}:ratelimit:{bucket}".encode()]
    assert 0 < client.pttl(f"{namespace}:ratelimit:{bucket}") <= 1000  # full again in 1 s
    shared.close()
    client.close()


def test_tokens_come_back_at_the_rate() -> None:
    shared, bucket = limiter(), unique("user:")
    assert shared.take(bucket, ONE).allowed
    deadline = time.monotonic() + REFILL_TIMEOUT_S
    while not shared.take(bucket, ONE).allowed:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(POLL_INTERVAL_S)
    shared.close()


def test_an_outage_falls_back_to_this_process_buckets_and_never_raises() -> None:
    with RedisServer() as server:
        shared, bucket = limiter(server.url), unique("user:")
        assert shared.take(bucket, ONE).allowed
        server.stop()
        local = [shared.take(bucket, ONE).allowed for _ in range(3)]
        assert local == [True, False, False], "still limited, by this process alone"
        shared.close()


def test_a_stalled_redis_costs_a_check_one_timeout_and_then_nothing() -> None:
    with RedisServer() as server:
        shared, bucket = limiter(server.url), unique("user:")
        server.pause()  # connections are accepted, nothing answers: the slow kind of outage
        try:
            answers = [shared.take(bucket, ONE).allowed for _ in range(3)]
        finally:
            server.resume()
        assert answers == [True, False, False], "answered from this process's buckets"
        shared.close()


def test_after_an_outage_the_shared_buckets_come_back() -> None:
    with RedisServer() as server:
        clock = [0.0]
        namespace, bucket = unique_namespace("rl"), unique("user:")
        shared = RedisRateLimiter(server.url, namespace, MemoryRateLimiter(),
                                  clock_s=lambda: clock[0])
        server.stop()
        shared.take(bucket, ONE)  # fails over to the local bucket
        server.restart()
        other = limiter(server.url, namespace)
        assert other.take(bucket, ONE).allowed  # Redis's bucket: untouched by the outage
        clock[0] += 60.0  # past the retry interval: Redis is asked again
        assert not shared.take(bucket, ONE).allowed, "the shared bucket, which `other` emptied"
        shared.close()
        other.close()
