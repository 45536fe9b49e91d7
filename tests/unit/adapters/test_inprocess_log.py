"""adapters/inprocess_log.py: partitions, order per key, commit, redelivery and bounds."""

from __future__ import annotations

import time

import pytest
from wallet.adapters.inprocess_log import InProcessLog
from wallet.service_layer.ports import LogFull


def values(records: list) -> list[bytes]:
    return [record.value for record in records]


def test_a_key_always_maps_to_the_same_partition() -> None:
    keys = [f"user-{n}" for n in range(50)]
    first, second = InProcessLog(8, 10), InProcessLog(8, 10)
    assert [first.partition_of(k) for k in keys] == [second.partition_of(k) for k in keys]
    assert {first.partition_of(k) for k in keys} <= set(range(8))
    assert len({first.partition_of(k) for k in keys}) > 1  # keys spread out


def test_order_is_kept_within_a_key() -> None:
    log = InProcessLog(4, 100)
    for n in range(5):
        log.append("alice", f"a{n}".encode())
        log.append("bob", f"b{n}".encode())
    records = log.poll(100, 0)
    for prefix in ("a", "b"):
        expected = [f"{prefix}{n}".encode() for n in range(5)]
        assert [v for v in values(records) if v.startswith(prefix.encode())] == expected
    alice = [r for r in records if r.value.startswith(b"a")]
    assert [r.offset for r in alice] == sorted(r.offset for r in alice)
    assert {r.partition for r in alice} == {log.partition_of("alice")}


def test_poll_hands_out_at_most_records_max() -> None:
    log = InProcessLog(1, 100)
    for n in range(5):
        log.append("alice", bytes([n]))
    assert values(log.poll(2, 0)) == [b"\x00", b"\x01"]
    assert values(log.poll(10, 0)) == [b"\x02", b"\x03", b"\x04"]


def test_poll_hands_out_each_record_once() -> None:
    log = InProcessLog(2, 100)
    log.append("alice", b"1")
    assert values(log.poll(10, 0)) == [b"1"]
    assert log.poll(10, 0) == []


def test_poll_times_out_empty() -> None:
    started = time.monotonic()
    assert InProcessLog(2, 10).poll(10, 20) == []
    assert time.monotonic() - started < 1


def test_commit_drops_records_for_good() -> None:
    log = InProcessLog(1, 100)
    log.append("alice", b"1")
    log.append("alice", b"2")
    records = log.poll(10, 0)
    log.commit(records)
    log.rewind()
    assert log.poll(10, 0) == []
    assert log.depth() == 0


def test_rewind_redelivers_what_was_not_committed() -> None:
    log = InProcessLog(1, 100)
    for value in (b"1", b"2", b"3"):
        log.append("alice", value)
    records = log.poll(10, 0)
    log.commit(records[:1])
    log.rewind()
    redelivered = log.poll(10, 0)
    assert values(redelivered) == [b"2", b"3"]
    assert [r.offset for r in redelivered] == [r.offset for r in records[1:]]


def test_offsets_keep_growing_after_a_commit() -> None:
    log = InProcessLog(1, 100)
    log.append("alice", b"1")
    log.commit(log.poll(10, 0))
    log.append("alice", b"2")
    (record,) = log.poll(10, 0)
    assert (record.offset, record.value) == (1, b"2")


def test_a_full_partition_refuses_appends_until_committed() -> None:
    log = InProcessLog(1, 2)
    log.append("alice", b"1")
    log.append("alice", b"2")
    with pytest.raises(LogFull):
        log.append("alice", b"3")
    assert log.depth() == 2
    log.commit(log.poll(1, 0))
    log.append("alice", b"3")
    assert log.depth() == 2


def test_polled_but_uncommitted_records_still_count_towards_depth() -> None:
    log = InProcessLog(1, 1)
    log.append("alice", b"1")
    log.poll(10, 0)
    with pytest.raises(LogFull):
        log.append("alice", b"2")


def test_poll_serves_every_partition() -> None:
    log = InProcessLog(4, 100)
    keys = [f"user-{n}" for n in range(20)]
    for key in keys:
        log.append(key, key.encode())
    assert sorted(values(log.poll(100, 0))) == sorted(k.encode() for k in keys)
