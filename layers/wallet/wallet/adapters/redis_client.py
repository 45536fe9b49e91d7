"""How the wallet opens Redis: short timeouts, and at most one quick retry.

Redis only ever speeds the wallet up (a cache) or tells it something sooner
(pub/sub); the truth is in the ledger store. So a dead or stalled Redis must
cost a caller a fraction of a second and an error it can act on, never a hang.
"""

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry

CONNECT_TIMEOUT_S = 0.5  # loopback or one LAN hop answers in well under a millisecond
SOCKET_TIMEOUT_S = 0.5  # every command the wallet sends is O(1) or a short script
RECONNECT_RETRIES = 1  # a pooled connection may have died with a restarted server: one fresh try

FAILURES = (RedisError, OSError)
"""What a call to Redis raises when Redis, not the caller, is at fault."""


def open_client(url: str, retries: int = RECONNECT_RETRIES,
                timeout_s: float = SOCKET_TIMEOUT_S) -> "redis.Redis":
    """A client that decodes replies to str and retries a broken connection, never a timeout.

    A timed-out command may have run, and a retried one would run twice; a
    refused or reset connection ran nothing, and retrying it on a fresh socket
    is what hides a restart from callers.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=min(CONNECT_TIMEOUT_S, timeout_s),
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,)),
        decode_responses=True,
    )
