"""service_layer/expiry.py: the sweeper appends each due hold's one expiry, keyed by its wallet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from wallet.domain.codec import decode_envelope, encode_envelope
from wallet.domain.commands import (
    Deposit,
    Envelope,
    ExpireHold,
    PlaceHold,
    expiry_command_id,
    request_hash,
)
from wallet.domain.errors import Unavailable
from wallet.domain.events import HoldUpdated
from wallet.domain.holds import Hold
from wallet.service_layer import expiry
from wallet.service_layer.expiry import RESWEEP_AFTER, HoldSweeper, sweep_batches
from wallet.service_layer.ledger import LedgerConsumer
from wallet.service_layer.ports import CommandLog, LogFull

from ..fakes import (
    NOW,
    FakeLedgerStore,
    FullLog,
    RecordingCache,
    RecordingDeadLetters,
    SyncLog,
    SyncPubSub,
)

HOLD_IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 20)]


def hold(number: int, user_id: str = "alice", expires_at: datetime = NOW,
         status: str = "held", amount_minor: int = 100) -> Hold:
    return Hold(HOLD_IDS[number], user_id, "USD", amount_minor, status, 0, expires_at,
                NOW - timedelta(days=1), NOW - timedelta(days=1))


def store_with(*holds: Hold) -> FakeLedgerStore:
    store = FakeLedgerStore()
    store.hold_rows = {h.id: h for h in holds}
    return store


class RecordingLog(CommandLog):
    def __init__(self) -> None:
        self.appended: list[tuple[str, bytes]] = []

    def append(self, key: str, value: bytes) -> None:
        self.appended.append((key, value))

    def envelopes(self) -> list[Envelope]:
        return [decode_envelope(value) for _, value in self.appended]

    def hold_ids(self) -> list[str]:
        commands = [envelope.command for envelope in self.envelopes()]
        assert all(isinstance(c, ExpireHold) for c in commands), "a sweeper only expires"
        return [c.hold_id for c in commands if isinstance(c, ExpireHold)]


class DownStore(FakeLedgerStore):
    def due_holds(self, now: datetime, limit: int) -> list[Hold]:
        raise Unavailable("the database is unreachable")


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Ledger:
    """The consumer over a fake store, on a clock the test moves."""

    store: FakeLedgerStore = field(default_factory=FakeLedgerStore)
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.consumer = LedgerConsumer(self.store, RecordingCache(), SyncPubSub(),
                                       RecordingDeadLetters(), self.clock)
        self.log = SyncLog(self.consumer)

    def run(self, command_id: str, command: Deposit | PlaceHold) -> None:
        self.log.append(command.user_id, encode_envelope(
            Envelope(command_id, request_hash(command), command)))


def test_a_due_hold_gets_the_expiry_the_consumer_would_make_keyed_by_its_wallet() -> None:
    due = hold(1, "bob")
    log = RecordingLog()
    assert HoldSweeper(store_with(due), log).sweep(NOW) == 1
    ((key, value),) = log.appended
    command = ExpireHold(due.id, "bob", 100, "USD")
    assert key == "bob"
    assert decode_envelope(value) == Envelope(expiry_command_id(due.id), request_hash(command),
                                              command)


def test_holds_not_yet_due_or_already_ended_are_left_alone() -> None:
    later = hold(1, expires_at=NOW + timedelta(microseconds=1))
    ended = [hold(2, status=status) for status in ("captured", "voided", "expired")]
    log = RecordingLog()
    assert HoldSweeper(store_with(later, *ended), log).sweep(NOW) == 0
    assert log.appended == []


def test_a_sweep_appends_at_most_a_batch_and_the_next_reaches_past_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry, "SWEEP_BATCH_MAX", 3)
    holds = [hold(n, expires_at=NOW - timedelta(seconds=n)) for n in range(1, 8)]
    log = RecordingLog()
    sweeper = HoldSweeper(store_with(*holds), log)
    assert sweeper.sweep(NOW) == 3
    soonest_first = [h.id for h in sorted(holds, key=lambda h: h.expires_at)]
    assert log.hold_ids() == soonest_first[:3]
    assert sweeper.sweep(NOW) == 3  # the first three are not yet applied: not asked again
    assert sweeper.sweep(NOW) == 1
    assert log.hold_ids() == soonest_first


def test_what_a_sweep_reads_is_bounded_by_what_it_remembers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry, "SWEEP_BATCH_MAX", 2)
    monkeypatch.setattr(expiry, "REMEMBERED_MAX", 3)
    store = store_with(*[hold(n) for n in range(1, 10)])
    limits: list[int] = []
    due_holds = store.due_holds

    def recorded(now: datetime, limit: int) -> list[Hold]:
        limits.append(limit)
        return due_holds(now, limit)

    monkeypatch.setattr(store, "due_holds", recorded)
    sweeper = HoldSweeper(store, RecordingLog())
    assert [sweeper.sweep(NOW) for _ in range(4)] == [2, 1, 0, 0]
    assert limits == [2, 4, 5, 5]


def test_a_hold_still_due_is_asked_for_again_after_a_while() -> None:
    """Say the consumer's clock was behind and found the hold not yet due: ask again."""
    log = RecordingLog()
    sweeper = HoldSweeper(store_with(hold(1)), log)
    assert sweeper.sweep(NOW) == 1
    assert sweeper.sweep(NOW + RESWEEP_AFTER - timedelta(microseconds=1)) == 0
    assert sweeper.sweep(NOW + RESWEEP_AFTER) == 1
    assert len({e.command_id for e in log.envelopes()}) == 1


def test_duplicate_expiries_from_two_sweepers_expire_the_hold_once() -> None:
    ledger = Ledger()
    ledger.run("d-1", Deposit("alice", 500, "USD"))
    ledger.run(HOLD_IDS[1], PlaceHold("alice", 200, "USD", expires_in_s=60))
    ledger.clock.now = NOW + timedelta(seconds=61)
    first, second = HoldSweeper(ledger.store, ledger.log), HoldSweeper(ledger.store, ledger.log)
    with holding(ledger.log):  # both sweep before the consumer sees either expiry
        assert (first.sweep(ledger.clock.now), second.sweep(ledger.clock.now)) == (1, 1)
    expired = [o for o in ledger.store.outcomes.values() if isinstance(o, HoldUpdated)
               and o.change.hold.status == "expired"]
    assert len(expired) == 1 and expired[0].command_id == expiry_command_id(HOLD_IDS[1])
    assert ledger.store.hold_rows[HOLD_IDS[1]].status == "expired"
    assert ledger.store.held_rows[("alice", "USD")] == 0
    assert first.sweep(ledger.clock.now) == 0  # applied: no longer due


@contextmanager
def holding(log: SyncLog) -> Iterator[None]:
    log.hold = True
    yield
    log.hold = False
    log.deliver()


def test_a_full_log_ends_the_sweep_and_the_next_one_asks_again() -> None:
    store = store_with(hold(1), hold(2))
    full = FullLog()
    assert HoldSweeper(store, full).sweep(NOW) == 0
    assert full.attempts == 1  # the log is full: the rest of the batch is not tried
    log = RecordingLog()
    sweeper = HoldSweeper(store, log)
    assert sweeper.sweep(NOW) == 2


def test_a_log_that_fills_midway_keeps_what_it_took() -> None:
    class FillsAfterOne(RecordingLog):
        def append(self, key: str, value: bytes) -> None:
            if self.appended:
                raise LogFull("depth_max")
            super().append(key, value)

    log = FillsAfterOne()
    sweeper = HoldSweeper(store_with(hold(1), hold(2)), log)
    assert sweeper.sweep(NOW) == 1
    log.appended.clear()  # room again
    assert sweeper.sweep(NOW) == 1  # the hold not yet asked for, and only it
    assert log.hold_ids() == [HOLD_IDS[2]]


def test_an_outage_of_the_log_or_the_store_is_survived() -> None:
    class DownLog(CommandLog):
        def append(self, key: str, value: bytes) -> None:
            raise Unavailable("the broker is unreachable")

    assert HoldSweeper(store_with(hold(1)), DownLog()).sweep(NOW) == 0
    assert HoldSweeper(DownStore(), RecordingLog()).sweep(NOW) == 0


def test_sweep_batches_stops_at_a_short_batch_or_at_its_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry, "SWEEP_BATCH_MAX", 2)
    store = store_with(*[hold(n) for n in range(1, 8)])
    assert sweep_batches(HoldSweeper(store, RecordingLog()), Clock(), 2) == 4
    log = RecordingLog()
    assert sweep_batches(HoldSweeper(store, log), Clock(), 10) == 7
    assert len(log.appended) == 7
