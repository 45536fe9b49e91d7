"""adapters/redis_pubsub.py against real Redis: delivery, isolation, and outages.

Normal tests share one server under a unique namespace each; outage tests
break a private server of their own.
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from wallet.adapters import redis_pubsub
from wallet.adapters.redis_client import SOCKET_TIMEOUT_S
from wallet.adapters.redis_pubsub import RedisPubSub
from wallet.domain.errors import Unavailable

from tests.services.redis import RedisServer, shared_redis_url, unique_namespace

from .support import Inbox, wait_until

CHANNEL = "wallet.events"
STALL_NOTICED_S = redis_pubsub.PING_INTERVAL_S + redis_pubsub.PING_ANSWER_TIMEOUT_S + 2.0
RESUBSCRIBED_S = 10.0  # backoff is capped at 2 s; the rest is slack for a loaded machine
FAIL_FAST_S = SOCKET_TIMEOUT_S + 0.5


class Outages:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def namespace() -> str:
    return unique_namespace("pubsub")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as private:
        yield private


def open_pubsub(url: str, namespace: str, on_outage: Callable[[], None] | None = None
                ) -> RedisPubSub:
    return RedisPubSub(url, namespace, on_outage)


def publish_until_received(pubsub: RedisPubSub, inbox: Inbox, timeout_s: float) -> str:
    """Publishes numbered probes until one arrives: the subscription is back. Returns it."""
    sent: list[str] = []

    def arrived() -> bool:
        probe = f"probe-{len(sent)}"
        try:
            pubsub.publish(CHANNEL, [probe])
            sent.append(probe)
        except Unavailable:
            pass
        return any(message in sent for message in inbox.messages)

    wait_until(arrived, "a probe published after the resubscription", timeout_s)
    return next(message for message in inbox.messages if message in sent)


def test_a_batch_reaches_every_subscriber_in_order(namespace: str) -> None:
    gateway, relay, consumer = (open_pubsub(shared_redis_url(), namespace) for _ in range(3))
    inboxes = [Inbox(), Inbox()]
    gateway.subscribe(CHANNEL, inboxes[0])
    relay.subscribe(CHANNEL, inboxes[1])
    try:
        consumer.publish(CHANNEL, ["1", "2", "3"])
        consumer.publish(CHANNEL, ["4", "5"])
        wait_until(lambda: all(len(inbox.messages) == 5 for inbox in inboxes), "both batches")
        assert [inbox.messages for inbox in inboxes] == [["1", "2", "3", "4", "5"]] * 2
    finally:
        for pubsub in (gateway, relay, consumer):
            pubsub.close()


def test_namespaces_and_channels_isolate(namespace: str) -> None:
    ours, theirs = open_pubsub(shared_redis_url(), namespace), open_pubsub(
        shared_redis_url(), unique_namespace("pubsub"))
    inbox = Inbox()
    theirs.subscribe(CHANNEL, inbox)
    try:
        ours.publish(CHANNEL, ["another stack's event"])
        theirs.publish("another.channel", ["another channel's event"])
        theirs.publish(CHANNEL, ["marker"])  # one publisher's messages arrive in order
        wait_until(lambda: "marker" in inbox.messages, "the marker")
        assert inbox.messages == ["marker"]
    finally:
        ours.close()
        theirs.close()


def test_a_callback_that_raises_loses_only_its_batch(namespace: str) -> None:
    pubsub, inbox, failed = open_pubsub(shared_redis_url(), namespace), Inbox(), Inbox()

    def fragile(batch: Sequence[str]) -> None:
        if "poison" in batch:
            failed(batch)
            raise RuntimeError("a websocket push failed")
        inbox(batch)

    pubsub.subscribe(CHANNEL, fragile)
    try:
        pubsub.publish(CHANNEL, ["poison"])
        # Batches that queue up are merged into one callback: publish the next one apart.
        wait_until(lambda: failed.messages == ["poison"], "the failing callback")
        pubsub.publish(CHANNEL, ["fine"])
        wait_until(lambda: inbox.messages == ["fine"], "the batch after the failing one")
    finally:
        pubsub.close()


def test_an_empty_batch_publishes_nothing() -> None:
    pubsub = open_pubsub("redis://127.0.0.1:1/0", unique_namespace("pubsub"))
    pubsub.publish(CHANNEL, [])  # nothing listens on port 1: no call was made
    pubsub.close()


def test_a_subscriber_resubscribes_after_a_restart(server: RedisServer) -> None:
    outages, inbox = Outages(), Inbox()
    pubsub = open_pubsub(server.url, unique_namespace("pubsub"), outages)
    pubsub.subscribe(CHANNEL, inbox)
    try:
        pubsub.publish(CHANNEL, ["before"])
        wait_until(lambda: inbox.messages == ["before"], "the batch before the outage")
        server.stop()
        wait_until(lambda: outages.count == 1, "on_outage", STALL_NOTICED_S)
        server.restart()
        probe = publish_until_received(pubsub, inbox, RESUBSCRIBED_S)
        pubsub.publish(CHANNEL, ["after"])
        wait_until(lambda: inbox.messages[-1] == "after", "a batch after the resubscription")
        assert inbox.messages[0] == "before" and probe in inbox.messages
        assert outages.count == 1, "one outage, reported once however many retries it took"
    finally:
        pubsub.close()


def test_a_stalled_server_is_noticed_and_survived(server: RedisServer) -> None:
    outages, inbox = Outages(), Inbox()
    pubsub = open_pubsub(server.url, unique_namespace("pubsub"), outages)
    pubsub.subscribe(CHANNEL, inbox)
    try:
        server.pause()  # the socket stays open; only an unanswered ping reveals it
        wait_until(lambda: outages.count == 1, "on_outage for a stalled server", STALL_NOTICED_S)
        server.resume()
        publish_until_received(pubsub, inbox, RESUBSCRIBED_S)
    finally:
        pubsub.close()


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_publishing_during_an_outage_fails_fast(server: RedisServer, outage: str) -> None:
    pubsub = open_pubsub(server.url, unique_namespace("pubsub"))
    pubsub.publish(CHANNEL, ["warm up a pooled connection"])
    if outage == "stopped":
        server.stop()
    else:
        server.pause()  # a black hole: connections hang rather than fail
    try:
        for _ in range(3):  # the first pays at most a timeout, the others nothing
            started = time.monotonic()
            with pytest.raises(Unavailable):
                pubsub.publish(CHANNEL, ["lost"])
            assert time.monotonic() - started < FAIL_FAST_S
    finally:
        pubsub.close()


def test_close_stops_the_subscriber_thread_within_its_bound(namespace: str) -> None:
    pubsub = open_pubsub(shared_redis_url(), namespace)
    subscription = pubsub.subscribe(CHANNEL, Inbox())
    started = time.monotonic()
    subscription.close()
    assert time.monotonic() - started < redis_pubsub.CLOSE_JOIN_TIMEOUT_S
    assert not [t for t in threading.enumerate() if t.name == f"redis-sub-{namespace}:{CHANNEL}"]
    pubsub.close()

