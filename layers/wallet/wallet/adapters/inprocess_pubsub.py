"""In-process pub/sub: each subscriber gets its own bounded queue and thread.

A slow subscriber (a websocket fan-out, say) must never stall the ledger
consumer that publishes, so publishing only enqueues. When a queue is full the
batch is dropped and logged: events are a notification, not the record. A
handler that misses one reads the store, and a dashboard catches up from
history.
"""

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from wallet.service_layer.ports import PubSub, Subscription

QUEUE_DEPTH_MAX = 10_000
COALESCE_BATCHES_MAX = 256  # batches merged into one callback when a subscriber lags

log = logging.getLogger("wallet.pubsub")

Callback = Callable[[Sequence[str]], None]
_STOP: list[str] = []


class _Subscriber(Subscription):
    def __init__(self, owner: "InProcessPubSub", channel: str, callback: Callback) -> None:
        self._owner, self.channel, self._callback = owner, channel, callback
        self.inbox: queue.Queue[Sequence[str]] = queue.Queue(QUEUE_DEPTH_MAX)
        self._thread = threading.Thread(target=self._run, name=f"pubsub-{channel}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self.inbox.get()
            if batch is _STOP:
                return
            messages = list(batch)
            for _ in range(COALESCE_BATCHES_MAX):
                try:
                    more = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._deliver(messages)
                    return
                messages.extend(more)
            self._deliver(messages)

    def _deliver(self, messages: list[str]) -> None:
        try:
            self._callback(messages)
        except Exception:
            log.exception("subscriber failed; its batch is skipped")

    def close(self) -> None:
        self._owner.forget(self)
        self.inbox.put(_STOP)
        self._thread.join(timeout=5)


class InProcessPubSub(PubSub):
    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()

    def publish(self, channel: str, messages: Sequence[str]) -> None:
        with self._lock:
            targets = [s for s in self._subscribers if s.channel == channel]
        for subscriber in targets:
            try:
                subscriber.inbox.put_nowait(list(messages))
            except queue.Full:
                log.warning("subscriber queue full; batch dropped",
                            extra={"channel": channel, "dropped": len(messages)})

    def subscribe(self, channel: str, callback: Callback) -> Subscription:
        subscriber = _Subscriber(self, channel, callback)
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber

    def forget(self, subscriber: _Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
