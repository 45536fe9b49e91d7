"""adapters/sqs_events.py: committed events to the fan-out queue, beside the pub/sub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from wallet.adapters.inprocess_pubsub import InProcessPubSub
from wallet.adapters.sqs_events import BODY_BYTES_MAX, QueuedPubSub, SqsEventQueue, bodies
from wallet.domain.errors import Unavailable
from wallet.service_layer.ledger import EVENTS_CHANNEL

from .aws import aws_client


@pytest.fixture
def sqs() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = aws_client("sqs")
        yield client, client.create_queue(QueueName="wallet-events")["QueueUrl"]


def received(sqs: tuple[Any, str]) -> list[list[str]]:
    client, url = sqs
    answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_a_batch_is_one_message_of_the_pubsub_payload(sqs: tuple[Any, str]) -> None:
    SqsEventQueue(sqs[1], sqs[0]).send(['{"commandId":"c-1"}', '{"commandId":"c-2"}'])
    assert received(sqs) == [['{"commandId":"c-1"}', '{"commandId":"c-2"}']]


def test_a_large_batch_is_split_in_order_under_the_limit() -> None:
    messages = [json.dumps({"commandId": f"c-{i}", "pad": "x" * 400}) for i in range(1200)]
    split = list(bodies(messages))
    assert len(split) > 1
    assert all(len(body.encode()) <= BODY_BYTES_MAX for body in split)
    assert [m for body in split for m in json.loads(body)] == messages


class Recording(InProcessPubSub):
    def __init__(self, down: bool = False) -> None:
        super().__init__()
        self.down = down
        self.published: list[tuple[str, list[str]]] = []

    def publish(self, channel: str, messages: Any) -> None:
        self.published.append((channel, list(messages)))
        if self.down:
            raise Unavailable("redis is down")


def test_the_events_channel_goes_to_both(sqs: tuple[Any, str]) -> None:
    inner = Recording()
    queued = QueuedPubSub(inner, SqsEventQueue(sqs[1], sqs[0]), [EVENTS_CHANNEL])
    queued.publish("other.channel", ["not queued"])
    queued.publish(EVENTS_CHANNEL, ["e-1"])
    assert inner.published == [("other.channel", ["not queued"]), (EVENTS_CHANNEL, ["e-1"])]
    assert received(sqs) == [["e-1"]]


def test_a_pubsub_outage_still_queues_then_reports(sqs: tuple[Any, str]) -> None:
    inner = Recording(down=True)
    queued = QueuedPubSub(inner, SqsEventQueue(sqs[1], sqs[0]), [EVENTS_CHANNEL])
    with pytest.raises(Unavailable):
        queued.publish(EVENTS_CHANNEL, ["e-1"])
    assert inner.published == [(EVENTS_CHANNEL, ["e-1"])]
    assert received(sqs) == [["e-1"]]


def test_an_unreachable_queue_is_unavailable() -> None:
    with mock_aws():
        client = aws_client("sqs")
        missing = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"
        with pytest.raises(Unavailable):
            SqsEventQueue(missing, client).send(["e-1"])
