"""The Kafka command log adapters against a real Kafka-compatible broker (Tansu, in memory).

Most tests share one broker and tell themselves apart by topic and group
names. The ones that stop or restart a broker get their own. A group join
takes about half the session timeout (3 s) on Tansu, so each test opens as
few sources as its point needs.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition, murmur2
from wallet.adapters.kafka_log import (
    KafkaCluster,
    KafkaCommandLog,
    KafkaCommandSource,
    KafkaDeadLetters,
    ensure_topics,
)
from wallet.domain.errors import Unavailable
from wallet.service_layer.ports import LogRecord

from tests.services.kafka import Tansu, running_tansu

from .support import unique, wait_until

PARTITIONS = 4
POLL_TIMEOUT_MS = 100  # per poll: short, so two sources polled in turn both keep their session
CONSUME_TIMEOUT_S = 20.0  # a join (~3 s) or a rebalance (~4 s) plus the records themselves
OUTAGE_FAILURE_S_MAX = 8.0  # worst case of one append: two delivery attempts and a recovery


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with running_tansu(tmp_path_factory.mktemp("tansu")) as running:
        yield running


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Tansu]:
    """For tests that stop or restart the broker, which would disturb every other test."""
    with running_tansu(tmp_path) as running:
        yield running


@pytest.fixture
def topic(broker: Tansu) -> str:
    name = unique("commands")
    ensure_topics(KafkaCluster(broker.bootstrap), name, PARTITIONS)
    return name


@pytest.fixture
def log(broker: Tansu, topic: str) -> Iterator[KafkaCommandLog]:
    opened = KafkaCommandLog(KafkaCluster(broker.bootstrap), topic, PARTITIONS)
    yield opened
    opened.close()


class Sources:
    """Opens sources and always closes them, so a failed test leaves no member in a group."""

    def __init__(self) -> None:
        self._opened: list[KafkaCommandSource] = []

    def open(self, broker: Tansu, topic: str, group: str) -> KafkaCommandSource:
        source = KafkaCommandSource(KafkaCluster(broker.bootstrap), topic, group)
        self._opened.append(source)
        return source

    def close(self, source: KafkaCommandSource) -> None:
        self._opened.remove(source)
        source.close()

    def close_all(self) -> None:
        for source in list(self._opened):
            self.close(source)


@pytest.fixture
def sources() -> Iterator[Sources]:
    opened = Sources()
    yield opened
    opened.close_all()


def drain(*members: KafkaCommandSource, count: int, commit: bool = True,
          timeout_s: float = CONSUME_TIMEOUT_S) -> list[list[LogRecord]]:
    """Polls the members in turn until together they returned `count` records; bounded."""
    taken: list[list[LogRecord]] = [[] for _ in members]
    deadline = time.monotonic() + timeout_s
    while sum(map(len, taken)) < count:
        assert time.monotonic() < deadline, f"{sum(map(len, taken))} of {count} records"
        for member, records in zip(members, taken, strict=True):
            batch = member.poll(500, POLL_TIMEOUT_MS)
            records.extend(batch)
            if commit:
                member.commit(batch)
    return taken


def values(records: Sequence[LogRecord]) -> list[bytes]:
    return [record.value for record in records]


# --- appending and reading back -------------------------------------------------------------

def test_appended_records_come_back_keyed_to_one_partition_in_order(
    broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources
) -> None:
    wallets = [unique("wallet") for _ in range(6)]
    for sequence in range(5):
        for wallet in wallets:
            log.append(wallet, f"{wallet}/{sequence}".encode())

    [records] = drain(sources.open(broker, topic, unique("group")), count=30)

    assert sorted(values(records)) == sorted(
        f"{w}/{s}".encode() for w in wallets for s in range(5))
    for wallet in wallets:
        mine = [r for r in records if r.value.startswith(wallet.encode())]
        # the Java client's partitioner, so clients in any language agree on the partition
        assert {r.partition for r in mine} == {murmur2(wallet.encode(), PARTITIONS)}
        assert values(mine) == [f"{wallet}/{s}".encode() for s in range(5)]
        assert [r.offset for r in mine] == sorted(r.offset for r in mine)


def test_rewind_and_a_new_member_redeliver_only_what_was_not_committed(
    broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources
) -> None:
    wallet, group = unique("wallet"), unique("group")
    for sequence in range(6):
        log.append(wallet, f"{sequence}".encode())
    first = sources.open(broker, topic, group)
    [records] = drain(first, count=6, commit=False)
    first.rewind()  # nothing committed yet: back to the beginning
    [records] = drain(first, count=6, commit=False)
    assert values(records) == [f"{s}".encode() for s in range(6)]
    first.commit(records[:4])

    first.rewind()
    [again] = drain(first, count=2, commit=False)
    assert values(again) == [b"4", b"5"]

    sources.close(first)
    [redelivered] = drain(sources.open(broker, topic, group), count=2, commit=False)
    assert values(redelivered) == [b"4", b"5"]


def test_two_members_split_the_partitions_and_see_each_record_once(
    broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources
) -> None:
    group = unique("group")
    members = [sources.open(broker, topic, group), sources.open(broker, topic, group)]
    started = time.monotonic()
    wait_until(lambda: split_evenly(members), "both members assigned", CONSUME_TIMEOUT_S)
    print(f"\ntwo members joined and split {PARTITIONS} partitions in "
          f"{time.monotonic() - started:.1f} s")
    sent = [f"{unique('wallet')}".encode() for _ in range(40)]
    for value in sent:
        log.append(value.decode(), value)

    taken = drain(*members, count=len(sent))

    assert sorted(values(taken[0] + taken[1])) == sorted(sent)  # every record, exactly once
    for member, records in zip(members, taken, strict=True):
        assert records, "each member owns partitions, and 40 keys reach all of them"
        assert {r.partition for r in records} <= set(member.assigned_partitions())


def split_evenly(members: Sequence[KafkaCommandSource]) -> bool:
    """True once the group settled: each member holds half, together all of them."""
    for member in members:
        member.poll(1, POLL_TIMEOUT_MS)  # rebalances progress only while members poll
    owned = [member.assigned_partitions() for member in members]
    return sorted(owned[0] + owned[1]) == list(range(PARTITIONS)) and all(owned)


def test_concurrent_appends_are_all_acknowledged_then_consumed(
    broker: Tansu, topic: str, log: KafkaCommandLog, sources: Sources
) -> None:
    threads, per_thread = 32, 50
    log.append(unique("warm-up"), b"warm-up")  # the producer id is fetched once, not timed
    start = threading.Barrier(threads)

    def appender(number: int) -> None:
        start.wait()
        for sequence in range(per_thread):
            log.append(f"wallet-{number % 8}", f"{number}/{sequence}".encode())

    began = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(appender, range(threads)))
    elapsed_s = time.monotonic() - began
    print(f"\n{threads * per_thread} acknowledged appends from {threads} threads in "
          f"{elapsed_s:.2f} s: {threads * per_thread / elapsed_s:.0f} appends/s")

    [records] = drain(sources.open(broker, topic, unique("group")), count=threads * per_thread + 1)
    assert sorted(values(records)) == sorted(
        [b"warm-up"] + [f"{n}/{s}".encode() for n in range(threads) for s in range(per_thread)])


# --- dead letters ---------------------------------------------------------------------------

def test_a_dead_letter_lands_on_the_dlq_topic_with_its_reason(
    broker: Tansu, topic: str
) -> None:
    letters = KafkaDeadLetters(KafkaCluster(broker.bootstrap), topic)
    try:
        letters.send(b"\xffnot json", "undecodable: invalid start byte")
    finally:
        letters.close()

    message = read_one(broker, f"{topic}.dlq")
    assert message.value() == b"\xffnot json"
    headers = dict(message.headers() or [])
    assert headers["reason"] == b"undecodable: invalid start byte"
    failed_at = headers["failed_at"]
    assert isinstance(failed_at, bytes) and datetime.fromisoformat(failed_at.decode()).tzinfo


def read_one(broker: Tansu, topic: str) -> Message:
    """A plain consumer with no group: it reads partition 0 from the start."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("reader"),
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(POLL_TIMEOUT_MS / 1000)
            if message is not None and message.error() is None:
                return message
        raise AssertionError(f"nothing on {topic}")
    finally:
        consumer.close()


# --- outages --------------------------------------------------------------------------------

def test_appends_to_a_stopped_broker_fail_within_a_bound(own_broker: Tansu) -> None:
    topic = unique("commands")
    ensure_topics(KafkaCluster(own_broker.bootstrap), topic, PARTITIONS)
    log = KafkaCommandLog(KafkaCluster(own_broker.bootstrap), topic, PARTITIONS)
    letters = KafkaDeadLetters(KafkaCluster(own_broker.bootstrap), topic)
    try:
        log.append("wallet", b"before")
        own_broker.stop()
        for attempt in range(3):
            began = time.monotonic()
            with pytest.raises(Unavailable):
                log.append("wallet", f"during {attempt}".encode())
            assert time.monotonic() - began < OUTAGE_FAILURE_S_MAX
        with pytest.raises(Unavailable):
            letters.send(b"during", "test")
        with pytest.raises(Unavailable):
            ensure_topics(KafkaCluster(own_broker.bootstrap), topic, PARTITIONS, timeout_ms=500)
    finally:
        log.close()
        letters.close()


def test_after_a_broker_restart_appends_recover_and_the_source_consumes_them(
    own_broker: Tansu, sources: Sources
) -> None:
    topic = unique("commands")
    ensure_topics(KafkaCluster(own_broker.bootstrap), topic, PARTITIONS)
    log = KafkaCommandLog(KafkaCluster(own_broker.bootstrap), topic, PARTITIONS)
    try:
        source = sources.open(own_broker, topic, unique("group"))
        log.append("wallet", b"before")
        drain(source, count=1)

        own_broker.restart()  # in memory: the topics, records and group offsets are gone
        restarted = time.monotonic()
        log.append("wallet", b"after/0")  # re-creates the topics and a fresh producer
        appended_s = time.monotonic() - restarted
        for sequence in range(1, 10):
            log.append("wallet", f"after/{sequence}".encode())
        [records] = drain(source, count=10)
        print(f"\nafter a broker restart: first append in {appended_s:.2f} s, "
              f"consumed again {time.monotonic() - restarted:.1f} s after the restart")
        assert values(records) == [f"after/{s}".encode() for s in range(10)]
    finally:
        log.close()
