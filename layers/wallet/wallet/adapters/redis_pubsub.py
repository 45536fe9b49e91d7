"""Pub/sub over Redis: how committed outcomes reach every gateway and the relay.

A batch is one PUBLISH of a JSON array, so the consumer pays one round trip
per batch, and a failure is an `Unavailable` within a bounded time: the
consumer logs it and goes on, since its writes are already committed.

Each subscription owns a thread and a connection. Redis keeps nothing for a
subscriber that is away, so every lost connection is reported through
`on_outage`: waiters then fall back on the store, and a balance cache stops
trusting entries whose invalidation it may have missed. A server that stops
answering without closing the socket (paused, or behind a black hole) is
caught by a ping that goes unanswered.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from redis.client import PubSub as RedisSubscriberConnection

from wallet.adapters.redis_client import FAILURES, open_client
from wallet.domain.errors import Unavailable
from wallet.service_layer.ports import PubSub, Subscription

PUBLISH_PAUSE_AFTER_FAILURE_S = 1.0  # publishes fail at once meanwhile: one timeout per outage
POLL_INTERVAL_S = 0.1  # the longest a subscriber waits on its socket before looking at `close`
PING_INTERVAL_S = 1.0  # a connection quiet this long is pinged
PING_ANSWER_TIMEOUT_S = 2.0  # a ping unanswered this long means the server stalled
SUBSCRIBE_CONFIRM_TIMEOUT_S = 2.0  # a server that accepts but never confirms is stalled too
SUBSCRIBE_READY_WAIT_S = 2.0  # `subscribe` returns once subscribed, or after this anyway
RECONNECT_BACKOFF_FIRST_S = 0.05
RECONNECT_BACKOFF_MAX_S = 2.0
CLOSE_JOIN_TIMEOUT_S = 2.0  # covers one poll plus a connect timeout, not a hung callback
COALESCE_MESSAGES_MAX = 64  # published batches merged into one callback when they queue up

log = logging.getLogger("wallet.pubsub")

Callback = Callable[[Sequence[str]], None]
OutageHandler = Callable[[], None]


class _Stalled(Exception):
    """The server holds the connection open but does not answer."""


class RedisPubSub(PubSub):
    def __init__(self, url: str, namespace: str, on_outage: OutageHandler | None = None) -> None:
        self._url, self._namespace, self._on_outage = url, namespace, on_outage
        self._client = open_client(url)
        self._paused_until = 0.0  # monotonic seconds
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()

    def publish(self, channel: str, messages: Sequence[str]) -> None:
        if not messages:
            return
        if time.monotonic() < self._paused_until:
            raise Unavailable("redis pub/sub failed moments ago; not retried yet")
        try:
            self._client.publish(self._channel(channel), json.dumps(list(messages)))
        except FAILURES as exc:
            self._paused_until = time.monotonic() + PUBLISH_PAUSE_AFTER_FAILURE_S
            raise Unavailable(f"redis pub/sub is unavailable: {exc}") from exc

    def subscribe(self, channel: str, callback: Callback) -> Subscription:
        subscriber = _Subscriber(self._url, self._channel(channel), callback, self._on_outage)
        with self._lock:
            self._subscribers.append(subscriber)
        subscriber.wait_ready(SUBSCRIBE_READY_WAIT_S)
        return subscriber

    def close(self) -> None:
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
        for subscriber in subscribers:
            subscriber.close()
        self._client.close()

    def _channel(self, channel: str) -> str:
        return f"{self._namespace}:{channel}"


class _Liveness:
    """Pings a quiet connection, and notices when the answer never comes."""

    def __init__(self) -> None:
        self.heard_at = time.monotonic()
        self.pinged_at = 0.0

    def heard(self) -> None:
        self.heard_at = time.monotonic()

    def check(self, connection: RedisSubscriberConnection) -> None:
        now = time.monotonic()
        waiting = self.pinged_at > self.heard_at
        if waiting and now - self.pinged_at > PING_ANSWER_TIMEOUT_S:
            raise _Stalled(f"no answer to a ping within {PING_ANSWER_TIMEOUT_S} s")
        if not waiting and now - self.heard_at > PING_INTERVAL_S:
            connection.ping()
            self.pinged_at = now


class _Subscriber(Subscription):
    def __init__(
        self, url: str, channel: str, callback: Callback, on_outage: OutageHandler | None
    ) -> None:
        self._url, self._channel, self._callback = url, channel, callback
        self._on_outage = on_outage
        self._stop, self._ready = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"redis-sub-{channel}",
                                        daemon=True)
        self._thread.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the server confirmed the subscription: later publishes will arrive."""
        return self._ready.wait(timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(CLOSE_JOIN_TIMEOUT_S)

    def _run(self) -> None:
        backoff_s, reported = RECONNECT_BACKOFF_FIRST_S, False
        while not self._stop.is_set():
            try:
                with self._session() as connection:
                    backoff_s, reported = RECONNECT_BACKOFF_FIRST_S, False
                    self._pump(connection)
            except Exception as exc:  # a subscriber outlives any one failure, expected or not
                self._ready.clear()
                if not reported:
                    self._report(exc)
                    reported = True
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, RECONNECT_BACKOFF_MAX_S)

    @contextmanager
    def _session(self) -> Iterator[RedisSubscriberConnection]:
        # No retries inside redis-py: a reconnect we did not see would hide lost messages.
        client = open_client(self._url, retries=0)
        connection = RedisSubscriberConnection(client.connection_pool)
        try:
            connection.subscribe(self._channel)
            self._await_confirmation(connection)
            yield connection
        finally:
            connection.close()
            client.close()

    def _await_confirmation(self, connection: RedisSubscriberConnection) -> None:
        deadline = time.monotonic() + SUBSCRIBE_CONFIRM_TIMEOUT_S
        while not self._stop.is_set():
            message = connection.get_message(timeout=POLL_INTERVAL_S)
            if message is not None and message["type"] == "subscribe":
                self._ready.set()
                return
            if time.monotonic() > deadline:
                raise _Stalled(f"subscription not confirmed within {SUBSCRIBE_CONFIRM_TIMEOUT_S} s")

    def _pump(self, connection: RedisSubscriberConnection) -> None:
        liveness = _Liveness()
        while not self._stop.is_set():
            batch = _drain(connection, liveness)
            liveness.check(connection)  # right after reading: a slow callback ages nothing
            if batch:
                self._deliver(batch)

    def _deliver(self, batch: list[str]) -> None:
        try:
            self._callback(batch)
        except Exception:
            log.exception("subscriber failed; its batch is skipped",
                          extra={"channel": self._channel})

    def _report(self, error: Exception) -> None:
        expected = isinstance(error, (*FAILURES, _Stalled))
        log.warning("redis subscription lost; resubscribing", exc_info=not expected,
                    extra={"channel": self._channel, "error": repr(error)})
        if self._on_outage is None:
            return
        try:
            self._on_outage()
        except Exception:
            log.exception("on_outage failed", extra={"channel": self._channel})


def _drain(connection: RedisSubscriberConnection, liveness: _Liveness) -> list[str]:
    """Waits one poll for a message, then takes what else is already there, up to a bound."""
    batch: list[str] = []
    timeout_s = POLL_INTERVAL_S
    for _ in range(COALESCE_MESSAGES_MAX):
        message = connection.get_message(timeout=timeout_s)
        if message is None:
            break
        liveness.heard()
        timeout_s = 0.0
        if message["type"] == "message":
            batch.extend(_decode(message["data"]))
    return batch


def _decode(data: Any) -> list[str]:
    try:
        messages = json.loads(data)
    except (TypeError, ValueError):
        messages = None
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return messages
    log.error("malformed pub/sub batch skipped", extra={"size": len(str(data))})
    return []
