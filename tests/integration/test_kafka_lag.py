"""The Kafka source's lag: high watermark minus committed offset, sampled on the polling thread."""

import threading

from wallet.adapters.kafka_log import KafkaCommandLog

from tests.services.kafka import Tansu

from .support import unique, wait_until
from .test_kafka_log import PARTITIONS, POLL_TIMEOUT_MS, Sources, broker, drain, log, sources, topic

__all__ = ["broker", "log", "sources", "topic"]  # fixtures, shared with the log's own tests

LAG_TIMEOUT_S = 20.0  # a group join (~3 s), then a few samples
POLL_LONG_MS = 3_000
HANG_BOUND_S = 1.5  # well inside the poll: a read that waits for the poll is still waiting


def test_records_read_but_not_committed_still_lag(
        broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources) -> None:
    source = sources.open(broker, topic, unique("group"))
    for number in range(6):
        log.append(f"wallet-{number}", b"first")
    drain(source, count=6)
    for number in range(3):
        log.append(f"wallet-{number}", b"second")

    def lag_is_three() -> bool:
        source.poll(1, POLL_TIMEOUT_MS)  # reads on, never commits: the lag must not shrink
        return sum(source.lag().values()) == 3

    wait_until(lag_is_three, "three records lagging", LAG_TIMEOUT_S)
    assert set(source.lag()) <= set(range(PARTITIONS))


def test_another_thread_reads_the_lag_without_waiting_on_a_poll(
        broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources) -> None:
    source = sources.open(broker, topic, unique("group"))
    log.append("wallet-1", b"x")
    drain(source, count=1)
    polling = threading.Thread(target=source.poll, args=(1, POLL_LONG_MS))  # long and empty
    polling.start()
    reading = threading.Thread(target=source.lag)
    reading.start()
    reading.join(HANG_BOUND_S)
    hung = reading.is_alive()
    polling.join()
    reading.join()
    assert not hung, "lag() waited for the poll on another thread"
