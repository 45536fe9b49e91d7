"""service_layer/ledger.py's apply_batch on a real store, as a state machine checked by a model.

Hypothesis sends batches of deposits, payouts and transfers (edge amounts
included), sends a command twice in one batch, redelivers whole batches, and
reuses command ids with other requests. Each example gets a fresh ledger, on
a SQLite file or in a fresh PostgreSQL schema. After every step the raw rows
(read around the adapter) must show money conserved, no negative user
balance, every balance equal to its entries' credits minus debits, and the
model's balances; every batch must leave the rows of the wallets it did not
commit to byte for byte as they were.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_store import SYSTEM_SHARDS, SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect
from wallet.domain.commands import Envelope, LedgerCommand, request_hash
from wallet.domain.events import CommandRejected, Outcome, TransactionCommitted
from wallet.domain.ledger import (
    BALANCE_MINOR_MAX,
    DEPOSITS_ACCOUNT,
    PAYOUTS_ACCOUNT,
    SYSTEM_ACCOUNTS,
    BalanceKey,
    legs,
)
from wallet.service_layer.ledger import apply_batch

from tests.services.postgres import fresh_schema

from ..unit.domain.ledger_model import COMMITTED, CURRENCIES, LIMITS, LedgerModel, commands
from ..unit.fakes import RecordingCache
from .support import HeldRawPostgres, RawLedger, RawSQLite, StepClock, by_account, logical_account

BATCH_SIZE_MAX = 6
STEPS_PER_EXAMPLE_MAX = 12
# A fresh PostgreSQL schema and its migration cost far more than a SQLite file: fewer examples.
EXAMPLES = {"sqlite": 60, "postgres": 25}
POOL_SIZE_MAX = 2  # one thread applies, and the adapter reads outcomes on a second connection
BALANCE_ROWS = "SELECT account_id, currency, balance FROM balances ORDER BY account_id, currency"


@dataclass(frozen=True)
class Ledger:
    store: SqlLedgerStore
    raw: RawLedger
    system_shards: int  # how many shards a system account may be split in on this backend


@contextmanager
def sqlite_ledger(directory: Path) -> Iterator[Ledger]:
    path = directory / f"{uuid.uuid4().hex}.sqlite3"
    store = SqlLedgerStore(SQLiteDialect(path))
    try:
        store.migrate()
        yield Ledger(store, RawSQLite(path), 1)  # one writer at a time: always the first shard
    finally:
        store.close()


@contextmanager
def postgres_ledger() -> Iterator[Ledger]:
    with fresh_schema() as url:
        store, raw = SqlLedgerStore(PostgresDialect(url, POOL_SIZE_MAX)), HeldRawPostgres(url)
        try:
            store.migrate()
            yield Ledger(store, raw, SYSTEM_SHARDS)
        finally:
            raw.close()
            store.close()


def envelope(command: LedgerCommand) -> Envelope:
    return Envelope(f"cmd-{uuid.uuid4().hex[:12]}", request_hash(command), command)


def verdict_of(outcome: Outcome) -> str:
    return outcome.rejection.code if isinstance(outcome, CommandRejected) else COMMITTED


def untouched(rows: list[tuple[Any, ...]], touched: set[BalanceKey]) -> list[tuple[Any, ...]]:
    return [row for row in rows if (logical_account(row[0]), row[1]) not in touched]


class BatchMachine(RuleBasedStateMachine):
    """One fresh ledger per example; `open_ledger` is set per backend by the test."""

    open_ledger: Callable[[], AbstractContextManager[Ledger]]
    batches = Bundle("batches")

    def __init__(self) -> None:
        super().__init__()
        self.exits = ExitStack()
        self.ledger = self.exits.enter_context(type(self).open_ledger())
        self.model = LedgerModel()
        self.first_use: dict[str, tuple[Envelope, str]] = {}  # command id: what it did first
        self.cache = RecordingCache()
        self.clock = StepClock()

    def teardown(self) -> None:
        self.exits.close()

    @rule(target=batches, fresh=st.lists(commands(), min_size=1, max_size=BATCH_SIZE_MAX),
          twice=st.booleans())
    def deliver(self, fresh: list[LedgerCommand], twice: bool) -> tuple[Envelope, ...]:
        """New commands; `twice` repeats the first one in the batch, as a producer retry does."""
        sent = [envelope(command) for command in fresh]
        batch = (*sent, sent[0]) if twice else tuple(sent)
        self.apply(batch)
        return batch

    @rule(target=batches, command=commands(st.just(1)), edge=st.sampled_from(LIMITS),
          past=st.booleans())
    def deliver_at_a_limit(self, command: LedgerCommand, edge: str,
                           past: bool) -> tuple[Envelope, ...]:
        """An amount that empties the debited account or fills the credited one, or one more
        (no more than a command may carry)."""
        amount = min(BALANCE_MINOR_MAX, max(1, self.model.room(command, edge) + past))
        batch = (envelope(replace(command, amount_minor=amount)),)
        self.apply(batch)
        return batch

    @rule(batch=batches)
    def redeliver(self, batch: tuple[Envelope, ...]) -> None:
        """A whole batch again, as after a consumer died before committing its offsets."""
        self.apply(batch)

    @rule(earlier=batches, pick=st.integers(0, BATCH_SIZE_MAX), command=commands(),
          fresh=st.lists(commands(), max_size=2))
    def reuse_an_id(self, earlier: tuple[Envelope, ...], pick: int, command: LedgerCommand,
                    fresh: list[LedgerCommand]) -> None:
        """An applied command's id with another request, among new commands."""
        reused = earlier[pick % len(earlier)].command_id
        self.apply((*map(envelope, fresh), Envelope(reused, request_hash(command), command)))

    def apply(self, batch: tuple[Envelope, ...]) -> None:
        before = self.ledger.raw.rows(BALANCE_ROWS)
        outcomes = iter(apply_batch(self.ledger.store, self.cache, batch, self.clock))
        touched: set[BalanceKey] = set()
        for sent in batch:
            first = self.first_use.get(sent.command_id)
            if first is not None and first[0].request_hash == sent.request_hash:
                continue  # a replay: answered from the record, not applied or published again
            outcome = next(outcomes, None)
            assert outcome is not None, f"no outcome for {sent}"
            assert (outcome.command_id, outcome.request_hash) == (
                sent.command_id, sent.request_hash), (sent, outcome)
            if first is not None:
                assert verdict_of(outcome) == "idempotency_key_reused", (sent, outcome)
                continue
            touched |= self.check_new(sent, outcome)
        assert next(outcomes, None) is None, "an outcome for no command of the batch"
        assert untouched(self.ledger.raw.rows(BALANCE_ROWS), touched) == untouched(
            before, touched), "a batch changed a balance it committed nothing to"
        self.check_records(batch)

    def check_new(self, sent: Envelope, outcome: Outcome) -> set[BalanceKey]:
        """The model's verdict on a new command; the balances a commit touched."""
        command, verdict = sent.command, verdict_of(outcome)
        assert verdict in self.model.verdicts(command, self.ledger.system_shards), (
            command, outcome)
        self.first_use[sent.command_id] = (sent, verdict)
        if not isinstance(outcome, TransactionCommitted):
            return set()
        self.model.apply(command)
        for posting in outcome.transaction.user_postings:
            assert posting.balance_after_minor == self.model.balance(
                posting.account_id, command.currency), (command, posting)
        keys = {(account, command.currency) for account in legs(command)}
        assert {account for account, _ in keys} <= self.cache.invalidated[-1], \
            "a committed wallet's cached balance was left standing"
        return keys

    def check_records(self, batch: tuple[Envelope, ...]) -> None:
        """Every id keeps the outcome of its first request, whatever came after it."""
        for command_id in {sent.command_id for sent in batch}:
            first, verdict = self.first_use[command_id]
            stored = self.ledger.store.outcome(command_id)
            assert stored is not None, command_id
            assert (stored.request_hash, verdict_of(stored)) == (first.request_hash, verdict)

    @invariant()
    def the_journal_adds_up(self) -> None:
        """Balances are credits minus debits, every chain of balance_after holds, every
        transaction nets to zero, and no user balance is negative: on the raw rows."""
        self.ledger.raw.assert_consistent()

    @invariant()
    def money_is_conserved_and_balances_are_the_models(self) -> None:
        totals = by_account(self.ledger.raw.stored_balances())
        for currency in CURRENCIES:
            assert sum(b for (_, c), b in totals.items() if c == currency) == 0, currency
            assert (-totals.get((DEPOSITS_ACCOUNT, currency), 0),
                    totals.get((PAYOUTS_ACCOUNT, currency), 0)) == (
                self.model.deposited[currency], self.model.paid_out[currency]), currency
        users = {key: b for key, b in totals.items() if key[0] not in SYSTEM_ACCOUNTS and b}
        assert users == {key: b for key, b in self.model.balances.items() if b}


# Not `backend`: that name is the conftest's fixture of one database per test, and each
# example here needs a ledger of its own.
@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_batches_keep_the_ledgers_rules(backend_name: str, tmp_path: Path) -> None:
    def open_ledger() -> AbstractContextManager[Ledger]:
        return sqlite_ledger(tmp_path) if backend_name == "sqlite" else postgres_ledger()

    machine = type(f"BatchMachineOn{backend_name.title()}", (BatchMachine,),
                   {"open_ledger": staticmethod(open_ledger)})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES[backend_name], stateful_step_count=STEPS_PER_EXAMPLE_MAX,
        deadline=None, derandomize=True, database=None))
