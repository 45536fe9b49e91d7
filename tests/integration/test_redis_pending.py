"""adapters/redis_pending.py against real Redis: a 202 one gateway gave, any gateway can answer."""

import redis
from wallet.adapters.redis_pending import RedisPendingCommands
from wallet.service_layer.waiters import PENDING_REMEMBERED_S

from tests.services.redis import RedisServer, shared_redis_url, unique_namespace

from .support import unique


def test_a_pending_command_is_seen_by_another_gateway() -> None:
    namespace = unique_namespace("pending")
    first = RedisPendingCommands(shared_redis_url(), namespace)
    second = RedisPendingCommands(shared_redis_url(), namespace)
    command_id = unique("cmd")
    assert second.owner(command_id) is None
    first.remember(command_id, "alice")
    assert second.owner(command_id) == "alice"
    first.close()
    second.close()


def test_pending_entries_expire_like_a_gateways_own_memory() -> None:
    namespace = unique_namespace("pending")
    pending = RedisPendingCommands(shared_redis_url(), namespace)
    command_id = unique("cmd")
    pending.remember(command_id, "alice")
    ttl_s = redis.Redis.from_url(shared_redis_url()).ttl(f"{namespace}:pending:{command_id}")
    assert 0 < ttl_s <= PENDING_REMEMBERED_S
    pending.close()


def test_namespaces_keep_stacks_apart() -> None:
    command_id = unique("cmd")
    RedisPendingCommands(shared_redis_url(), unique_namespace("a")).remember(command_id, "alice")
    assert RedisPendingCommands(shared_redis_url(), unique_namespace("b")).owner(command_id) is None


def test_an_unreachable_redis_answers_none_and_never_raises() -> None:
    with RedisServer() as server:
        pending = RedisPendingCommands(server.url, unique_namespace("pending"))
        server.stop()
        pending.remember("cmd-1", "alice")
        assert pending.owner("cmd-1") is None
        pending.close()
