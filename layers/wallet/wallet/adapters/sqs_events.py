"""Committed events to an SQS queue, for the websocket fan-out function on AWS.

On AWS no process stays subscribed to Redis for websockets: API Gateway holds
them, and a function runs per event. So the consumer also sends each batch of
committed events to a queue that triggers the fan-out function. Gateways keep
waiting on Redis, which is faster, and nothing subscribes to the queue here.

A message body is what Redis carries for the same batch: a JSON array of
encoded outcomes. A large batch is split so that no body passes SQS's limit.
"""

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from wallet.domain.errors import Unavailable
from wallet.service_layer.ports import PubSub, Subscription

# SQS takes 262,144 bytes per message, attributes included; this leaves room for them.
BODY_BYTES_MAX = 200_000


class SqsEventQueue:
    def __init__(self, queue_url: str, sqs: Any) -> None:
        self._queue_url, self._sqs = queue_url, sqs

    def send(self, messages: Sequence[str]) -> None:
        """Returns once SQS holds every message; raises Unavailable otherwise."""
        for body in bodies(messages):
            try:
                self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)
            except (BotoCoreError, ClientError) as exc:
                raise Unavailable(f"the events queue is unavailable: {exc}") from exc


def bodies(messages: Sequence[str]) -> Iterator[str]:
    """JSON arrays of the messages, in order, each at most BODY_BYTES_MAX bytes."""
    chunk: list[str] = []
    size = 2  # the brackets
    for message in messages:
        cost = len(json.dumps(message).encode()) + 1  # the comma
        assert cost + 2 <= BODY_BYTES_MAX, "one encoded outcome is a few hundred bytes"
        if chunk and size + cost > BODY_BYTES_MAX:
            yield json.dumps(chunk, separators=(",", ":"))
            chunk, size = [], 2
        chunk.append(message)
        size += cost
    if chunk:
        yield json.dumps(chunk, separators=(",", ":"))


class QueuedPubSub(PubSub):
    """Publishes to `inner` and, on the queued channels, to the queue too.

    Both are tried whatever the other does, and inner goes first: waiters on
    Redis are the latency that a client sees. The first failure is raised after
    both were tried, so the consumer logs it as it logs any unpublished batch.
    """

    def __init__(self, inner: PubSub, queue: SqsEventQueue, channels: Collection[str]) -> None:
        self._inner, self._queue, self._channels = inner, queue, frozenset(channels)

    def publish(self, channel: str, messages: Sequence[str]) -> None:
        attempts: list[Callable[[], None]] = [lambda: self._inner.publish(channel, messages)]
        if channel in self._channels and messages:
            attempts.append(lambda: self._queue.send(messages))
        failures: list[Unavailable] = []
        for attempt in attempts:
            try:
                attempt()
            except Unavailable as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def subscribe(self, channel: str, callback: Callable[[Sequence[str]], None]) -> Subscription:
        return self._inner.subscribe(channel, callback)

    def close(self) -> None:
        self._inner.close()
