"""An in-process command log with Kafka's shape: partitions, offsets, commit, redelivery.

Records are keyed by wallet and hashed to a partition, so one wallet's
commands keep their order. A record stays until the consumer commits past it,
and `rewind` redelivers everything uncommitted, as a consumer-group rebalance
would. It lives in memory: the embedded stack acknowledges a write (201) only
after the database commit, never on the log's word alone.
"""

import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence

from wallet.service_layer.ports import CommandLog, CommandSource, LogFull, LogRecord


class _Partition:
    def __init__(self) -> None:
        self.records: deque[LogRecord] = deque()  # uncommitted, oldest first
        self.next_offset = 0
        self.read_offset = 0  # the next offset to hand out

    def unread(self) -> int:
        return self.next_offset - self.read_offset


class InProcessLog(CommandLog, CommandSource):
    def __init__(self, partitions: int, depth_max: int) -> None:
        assert partitions > 0 and depth_max > 0
        self._partitions = [_Partition() for _ in range(partitions)]
        self._depth_max = depth_max
        self._changed = threading.Condition()
        self._turn = 0  # which partition a poll starts from, so none starves

    def partition_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % len(self._partitions)

    def append(self, key: str, value: bytes) -> None:
        number = self.partition_of(key)
        with self._changed:
            partition = self._partitions[number]
            if len(partition.records) >= self._depth_max:
                raise LogFull(f"partition {number} holds {self._depth_max} records")
            partition.records.append(LogRecord(number, partition.next_offset, value))
            partition.next_offset += 1
            self._changed.notify_all()

    def poll(self, records_max: int, timeout_ms: int) -> list[LogRecord]:
        deadline = time.monotonic() + timeout_ms / 1000
        with self._changed:
            while not any(p.unread() for p in self._partitions):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(remaining)
            return self._take(records_max)

    def _take(self, records_max: int) -> list[LogRecord]:
        taken: list[LogRecord] = []
        count = len(self._partitions)
        self._turn = (self._turn + 1) % count
        for step in range(count):
            partition = self._partitions[(self._turn + step) % count]
            first = partition.read_offset - (partition.next_offset - len(partition.records))
            wanted = min(partition.unread(), records_max - len(taken))
            taken.extend(partition.records[first + index] for index in range(wanted))
            partition.read_offset += wanted
        return taken

    def commit(self, records: Sequence[LogRecord]) -> None:
        with self._changed:
            for record in records:
                partition = self._partitions[record.partition]
                while partition.records and partition.records[0].offset <= record.offset:
                    partition.records.popleft()

    def rewind(self) -> None:
        with self._changed:
            for partition in self._partitions:
                partition.read_offset = partition.next_offset - len(partition.records)
            self._changed.notify_all()

    def lag(self) -> dict[int, int]:
        """A record stays until committed, so what a partition holds is its lag."""
        with self._changed:
            return {number: len(p.records) for number, p in enumerate(self._partitions)}

    def depth(self) -> int:
        with self._changed:
            return sum(len(p.records) for p in self._partitions)
