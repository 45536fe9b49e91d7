"""The service layer reports its work through the Metrics port, and never imports Prometheus."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit, Envelope, request_hash
from wallet.service_layer import ledger
from wallet.service_layer.ledger import LedgerConsumer
from wallet.service_layer.ports import NO_METRICS, Metrics
from wallet.service_layer.relay import Relay

from ..fakes import (
    ALICE,
    NOW,
    SECRET,
    FakeLedgerStore,
    RecordingCache,
    RecordingDeadLetters,
    RecordingSender,
    SyncPubSub,
)
from .test_relay import DEPOSIT


@dataclass
class RecordingMetrics(Metrics):
    batches: list[tuple[int, float]] = field(default_factory=list)
    dead_letters: int = 0
    published: list[int] = field(default_factory=list)
    fanned_out: list[int] = field(default_factory=list)

    def batch_applied(self, size: int, duration_s: float) -> None:
        self.batches.append((size, duration_s))

    def dead_lettered(self) -> None:
        self.dead_letters += 1

    def events_published(self, count: int) -> None:
        self.published.append(count)

    def events_fanned_out(self, count: int) -> None:
        self.fanned_out.append(count)


def deposit(command_id: str) -> bytes:
    command = Deposit("alice", 100, "USD")
    return encode_envelope(Envelope(command_id, request_hash(command), command, "a-1"))


def consumer(metrics: Metrics) -> LedgerConsumer:
    return LedgerConsumer(FakeLedgerStore(), RecordingCache(), SyncPubSub(),
                          RecordingDeadLetters(), lambda: NOW, metrics=metrics)


def test_a_batch_reports_its_size_and_apply_time_and_what_it_published() -> None:
    metrics = RecordingMetrics()
    consumer(metrics).handle([deposit("c-1"), deposit("c-2"), b"not json"])
    [(size, duration_s)] = metrics.batches
    assert size == 2 and duration_s >= 0
    assert metrics.published == [2]


def test_a_poison_record_counts_as_a_dead_letter() -> None:
    metrics = RecordingMetrics()
    consumer(metrics).handle([b"not json", b"{}"])
    assert metrics.dead_letters == 2
    assert metrics.batches == []


def test_fan_out_counts_the_messages_it_pushed() -> None:
    metrics, tokens = RecordingMetrics(), JwtTokens(SECRET)
    relay = Relay(MemoryConnections(RecordingSender()), tokens, metrics=metrics)
    relay.connect("alice-1", tokens.issue(ALICE, 60))
    relay.fan_out([DEPOSIT])
    assert metrics.fanned_out == [1]


def test_the_default_reports_nowhere() -> None:
    NO_METRICS.batch_applied(1, 0.1)
    NO_METRICS.dead_lettered()
    NO_METRICS.watch_waiters(lambda: 0)
    NO_METRICS.watch_lag(dict)


def test_the_service_layer_never_imports_prometheus() -> None:
    folder = Path(ledger.__file__).parent
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.startswith("prometheus") for name in names), module.name
