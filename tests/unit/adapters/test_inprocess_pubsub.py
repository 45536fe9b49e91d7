"""adapters/inprocess_pubsub.py: channels, and a subscriber thread per subscription.

Delivery is on the adapter's thread, so each test waits on an Event with a
bound rather than sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from wallet.adapters.inprocess_pubsub import InProcessPubSub

WAIT_S = 2.0


class Inbox:
    def __init__(self, expected: int) -> None:
        self.messages: list[str] = []
        self.expected = expected
        self.done = threading.Event()

    def __call__(self, batch: Sequence[str]) -> None:
        self.messages.extend(batch)
        if len(self.messages) >= self.expected:
            self.done.set()


def test_subscribers_get_their_channels_messages_in_order() -> None:
    pubsub, inbox, other = InProcessPubSub(), Inbox(3), Inbox(1)
    subscriptions = [pubsub.subscribe("events", inbox), pubsub.subscribe("other", other)]
    try:
        pubsub.publish("events", ["1", "2"])
        pubsub.publish("events", ["3"])
        assert inbox.done.wait(WAIT_S)
        assert inbox.messages == ["1", "2", "3"]
        assert other.messages == []
    finally:
        for subscription in subscriptions:
            subscription.close()


def test_a_failing_subscriber_keeps_receiving() -> None:
    pubsub, received = InProcessPubSub(), []
    failed, recovered = threading.Event(), threading.Event()

    def flaky(batch: Sequence[str]) -> None:
        received.extend(batch)
        if "boom" in batch:
            failed.set()
            raise RuntimeError("subscriber bug")
        recovered.set()

    subscription = pubsub.subscribe("events", flaky)
    try:
        pubsub.publish("events", ["boom"])
        assert failed.wait(WAIT_S)
        pubsub.publish("events", ["after"])
        assert recovered.wait(WAIT_S)
        assert received == ["boom", "after"]
    finally:
        subscription.close()


def test_a_closed_subscription_gets_nothing_more() -> None:
    pubsub, inbox = InProcessPubSub(), Inbox(1)
    pubsub.subscribe("events", inbox).close()
    pubsub.publish("events", ["late"])
    assert inbox.messages == []
