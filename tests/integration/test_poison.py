"""A command that raises while it is applied takes nothing else with it (issue 17).

The real write path: the log (in-process, or Kafka), the poller, the consumer
function loaded from disk, and the real SQL store on each backend, wrapped so
that saving one marked command raises as saving a lone surrogate once did.
Nothing else is faked: the others in its batch must commit, the poison one
must be dead-lettered and rejected to its client, and readiness must say so
while the ledger applies nothing.
"""

import asyncio
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from wallet import bootstrap
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.memory_dead_letters import MemoryDeadLetters
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.config import Config
from wallet.domain.access import Principal
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Payout
from wallet.domain.errors import Unavailable
from wallet.domain.events import CommandRejected, TransactionCommitted
from wallet.domain.holds import Hold
from wallet.domain.ledger import BalanceKey
from wallet.entrypoints import api
from wallet.service_layer.ports import Accounts, Applied, LedgerBatch
from wallet_runtime.functions import CONSUMER, load_actions, load_handlers
from wallet_runtime.poller import Poller
from wallet_runtime.server import ledger_ready

from tests.services.kafka import Tansu, running_tansu

from .support import Backend, envelope, unique, wait_until

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
POISON = "poison-reference"  # the reference the faulty store cannot save
STALL_S = 1  # WALLET_LEDGER_STALL_S for these tests: readiness fails after a second
DEAD_LETTER_WAIT_S = 20.0
POLL_TIMEOUT_S = 0.5


class FaultyStore(SqlLedgerStore):
    """The real store; a batch saving entries of a command whose reference is POISON raises,
    and while
    `down` is set every batch raises Unavailable, as a database outage does."""

    down = False

    @contextmanager
    def batch(self) -> Iterator[LedgerBatch]:
        if self.down:
            raise Unavailable("the database is down (injected)")
        with super().batch() as real:
            yield FaultyBatch(real)


class FaultyBatch(LedgerBatch):
    def __init__(self, real: LedgerBatch) -> None:
        self._real = real

    def load_balances(self, keys: Collection[BalanceKey]) -> Accounts:
        return self._real.load_balances(keys)

    def load_holds(self, hold_ids: Collection[str], wallet_ids: Collection[str],
                   due_by: datetime) -> dict[str, Hold]:
        return self._real.load_holds(hold_ids, wallet_ids, due_by)

    def load_outcomes(self, command_ids: Collection[str]) -> dict[str, Any]:
        return self._real.load_outcomes(command_ids)

    def save(self, applied: Sequence[Applied], accounts: Accounts,
             holds: Collection[Hold]) -> None:
        # As the lone surrogate did: it raised in hashing entries, which a rejection has none of.
        if any(getattr(e.command, "reference", None) == POISON
               and not isinstance(outcome, CommandRejected) for e, outcome in applied):
            raise UnicodeEncodeError("utf-8", "\udfff", 0, 1, "surrogates not allowed")
        self._real.save(applied, accounts, holds)


@contextmanager
def wired(tmp_path: Path, store: FaultyStore, **env: str) -> Iterator[bootstrap.Container]:
    config = Config.from_env({
        "WALLET_DATA_DIR": str(tmp_path), "WALLET_JWT_SECRET": "x" * 32,
        "WALLET_LOG_PARTITIONS": "4", "WALLET_BATCH_SIZE_MAX": "64",
        "WALLET_WAIT_FOR_COMMIT_MS": "10000", "WALLET_LEDGER_STALL_S": str(STALL_S), **env})
    container = bootstrap.build(config, store=store, connections=MemoryConnections())
    bootstrap.install(container)
    try:
        yield container
    finally:
        bootstrap.install(None)
        container.close()


def start(container: bootstrap.Container) -> Poller:
    poller = Poller(container.source, load_handlers(FUNCTIONS)[CONSUMER],
                    container.config.batch_size_max, container.dead_letters)
    poller.start()
    return poller


def append(container: bootstrap.Container, command: LedgerCommand) -> Envelope:
    sent = envelope(command, str(uuid.uuid4()))
    container.log.append(command.wallet_id, encode_envelope(sent))
    return sent


def one_batch_with_poison(container: bootstrap.Container) -> tuple[list[Envelope], Envelope]:
    """Commands on three wallets, the poison between two of its own wallet's, appended
    before any poller runs so that they arrive in one batch."""
    alice, bob, carol = (unique(name) for name in ("alice", "bob", "carol"))
    good = [append(container, Deposit(alice, 1_000, "USD")),
            append(container, Deposit(bob, 2_000, "USD"))]
    poison = append(container, Deposit(alice, 5, "USD", POISON, (("note", "x"),)))
    good += [append(container, Payout(alice, 400, "USD")),
             append(container, Deposit(carol, 3_000, "EUR"))]
    return good, poison


def assert_isolated(container: bootstrap.Container, good: list[Envelope],
                    poison: Envelope) -> None:
    store = container.store
    wait_until(lambda: all(store.outcome(e.command_id) is not None for e in [*good, poison]),
               "every outcome, the poison's rejection among them")
    for sent in good:
        assert isinstance(store.outcome(sent.command_id), TransactionCommitted), sent
    rejected = store.outcome(poison.command_id)
    assert isinstance(rejected, CommandRejected)
    assert rejected.rejection.code == "unprocessable_command"
    alice = poison.command.wallet_id
    assert store.balances(alice).balances == {"USD": 600}, "the rest of its wallet applied"
    assert container.consumer.stalled_s() == 0
    ledger_ready(container)


def submitted_poison(container: bootstrap.Container) -> dict[str, Any]:
    """What a client gets who sends a poison write through the real deposit handler."""
    user = unique("dave")
    token = container.tokens.issue(Principal(user, "user"), 600)
    event = {"routeKey": "POST /wallet/deposit", "body": (
        f'{{"userId": "{user}", "amount": "1", "reference": "{POISON}"}}'),
        "headers": {"authorization": f"Bearer {token}", "content-type": "application/json",
                    "idempotency-key": unique("key")}}
    return asyncio.run(api.handle(event, load_actions(FUNCTIONS)["deposit"]))


def test_a_poison_command_is_isolated_rejected_and_dead_lettered(
        tmp_path: Path, backend: Backend) -> None:
    store = FaultyStore(backend.open())
    with wired(tmp_path, store) as container:
        good, poison = one_batch_with_poison(container)
        poller = start(container)
        try:
            assert_isolated(container, good, poison)
            letters = container.dead_letters
            assert isinstance(letters, MemoryDeadLetters)
            [(value, reason)] = letters.letters()
            assert value == encode_envelope(poison) and "UnicodeEncodeError" in reason

            answered = submitted_poison(container)
            assert answered["statusCode"] == 422, answered
            assert '"unprocessable_command"' in answered["body"]
            canary = append(container, Deposit(unique("canary"), 1, "USD"))
            wait_until(lambda: store.outcome(canary.command_id) is not None, "the canary")
        finally:
            poller.stop(1)
        backend.raw.assert_consistent()


def test_readiness_fails_while_the_ledger_applies_nothing_and_recovers(
        tmp_path: Path, backend: Backend) -> None:
    store = FaultyStore(backend.open())
    with wired(tmp_path, store) as container:
        store.down = True
        waiting = append(container, Deposit(unique("erin"), 100, "USD"))
        poller = start(container)
        try:
            wait_until(lambda: container.consumer.stalled_s() > STALL_S, "a stall")
            with pytest.raises(Unavailable) as unready:
                ledger_ready(container)
            assert "applied nothing" in unready.value.message
            store.down = False  # the outage ends: the poller's retry applies the batch
            wait_until(lambda: store.outcome(waiting.command_id) is not None,
                       "the batch after the outage", timeout_s=15)
            assert container.consumer.stalled_s() == 0
            ledger_ready(container)
        finally:
            poller.stop(1)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with running_tansu(tmp_path_factory.mktemp("tansu")) as running:
        yield running


@pytest.mark.backends("postgres")
def test_on_kafka_and_postgres_the_poison_goes_to_the_dlq_topic_and_the_rest_commits(
        tmp_path: Path, backend: Backend, broker: Tansu) -> None:
    store, topic = FaultyStore(backend.open()), unique("commands")
    env = {"WALLET_KAFKA_BOOTSTRAP": broker.bootstrap, "WALLET_KAFKA_TOPIC": topic,
           "WALLET_KAFKA_GROUP": unique("ledger")}
    with wired(tmp_path, store, **env) as container:
        good, poison = one_batch_with_poison(container)
        poller = start(container)
        try:
            assert_isolated(container, good, poison)
            assert dlq_values(broker, f"{topic}.dlq") == [encode_envelope(poison)]
        finally:
            poller.stop(1)
        backend.raw.assert_consistent()


def dlq_values(broker: Tansu, topic: str) -> list[bytes]:
    """Every value on the dead-letter topic's partitions, read from the start."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("reader"),
                         "enable.auto.commit": False})
    found: list[bytes] = []
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + DEAD_LETTER_WAIT_S
        while not found and time.monotonic() < deadline:
            message = consumer.poll(POLL_TIMEOUT_S)
            if message is not None and message.error() is None:
                found.append(message.value() or b"")
        return found
    finally:
        consumer.close()
