"""The SQL store against the in-memory fake, for random hold traffic cut into random batches.

Both go through apply_batch with the same clock, so the Book decides the
same way in both: any difference is the SQL adapter storing or loading
something (a balance, held money, a hold, an outcome) otherwise than it was
given. The commands mix deposits, payouts, holds that expire within the run,
captures (whole and partial) and voids, and redeliveries of earlier batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    Envelope,
    LedgerCommand,
    Payout,
    PlaceHold,
    VoidHold,
    request_hash,
)
from wallet.domain.events import HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.ledger import SYSTEM_ACCOUNTS, Transaction
from wallet.service_layer.ledger import apply_batch
from wallet.service_layer.ports import LedgerStore

from ..unit.fakes import FakeLedgerStore
from .support import StepClock
from .test_ledger_properties import Ledger, postgres_ledger, sqlite_ledger

USERS = ("alice", "bob")
EXAMPLES = {"sqlite": 60, "postgres": 20}
HOLDS_NAMED = 4  # captures and voids name one of the first holds placed
STEP = timedelta(milliseconds=400)  # per clock reading: holds of 1-4 s expire within a run


def hold_id(number: int) -> str:
    return str(uuid.UUID(int=number + 1))


# An op: ("deposit" | "payout", user, amount) | ("hold", user, amount, expires_s) |
# ("capture", hold number, amount | None) | ("void", hold number) | ("again", batch number)
ops = st.one_of(
    st.tuples(st.sampled_from(["deposit", "payout"]), st.sampled_from(USERS),
              st.integers(1, 400)),
    st.tuples(st.just("hold"), st.sampled_from(USERS), st.integers(1, 200), st.integers(1, 4)),
    st.tuples(st.just("hold"), st.sampled_from(USERS), st.integers(1, 200), st.integers(1, 4)),
    # Mostly holds that exist, mostly in range: a refusal checks less than a capture does.
    st.tuples(st.just("capture"), st.integers(0, HOLDS_NAMED - 1),
              st.one_of(st.none(), st.integers(1, 100), st.integers(1, 300))),
    st.tuples(st.just("void"), st.integers(0, HOLDS_NAMED - 1)),
)


def build(drawn: Sequence[tuple[object, ...]]) -> list[Envelope]:
    """Envelopes with fixed ids; a capture or void names a hold by number, with the wallet
    and amount of that hold as placed (or of none, if it was never placed)."""
    placed: dict[int, tuple[str, int]] = {}
    built: list[Envelope] = []
    for number, op in enumerate(drawn):
        command: LedgerCommand
        match op:
            case ("deposit", str(user), int(amount)):
                command = Deposit(user, amount, "USD")
            case ("payout", str(user), int(amount)):
                command = Payout(user, amount, "USD")
            case ("hold", str(user), int(amount), int(expires)):
                command = PlaceHold(user, amount, "USD", expires_in_s=expires)
                placed[len(placed)] = (user, amount)
                built.append(Envelope(hold_id(len(placed) - 1), request_hash(command), command))
                continue
            case ("capture", int(which), amount):
                user, held = placed.get(which, ("alice", 1))
                command = CaptureHold(hold_id(which), user, amount or held, "USD")  # type: ignore[arg-type]
            case ("void", int(which)):
                user, held = placed.get(which, ("alice", 1))
                command = VoidHold(hold_id(which), user, held, "USD")
            case _:
                raise AssertionError(op)
        built.append(Envelope(f"cmd-{number}", request_hash(command), command))
    return built


def run(store: LedgerStore, batches: list[list[Envelope]]) -> list[Outcome]:
    clock = StepClock(step=STEP)
    cache = MemoryBalanceCache()
    return [outcome for batch in batches for outcome in apply_batch(store, cache, batch, clock)]


def users_side(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes with each system posting's balance left out: on PostgreSQL a batch holds one
    shard of a system account, and the balance after is that shard's, not the fake's total."""
    def strip(transaction: Transaction) -> Transaction:
        return replace(transaction, postings=tuple(
            replace(p, balance_after_minor=0) if p.account_id in SYSTEM_ACCOUNTS else p
            for p in transaction.postings))

    kept: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, TransactionCommitted):
            outcome = replace(outcome, transaction=strip(outcome.transaction))
        elif isinstance(outcome, HoldUpdated) and outcome.change.transaction is not None:
            outcome = replace(outcome, change=replace(
                outcome.change, transaction=strip(outcome.change.transaction)))
        kept.append(outcome)
    return kept


def same_state(sql: LedgerStore, fake: FakeLedgerStore, envelopes: list[Envelope]) -> None:
    for user in USERS:
        assert sql.balances(user) == fake.balances(user), user
    for number in range(HOLDS_NAMED):
        assert sql.hold(hold_id(number)) == fake.hold(hold_id(number)), number
    for sent in envelopes:
        stored, expected = sql.outcome(sent.command_id), fake.outcome(sent.command_id)
        assert (stored is None) == (expected is None), sent
        if isinstance(expected, HoldUpdated):
            assert isinstance(stored, HoldUpdated)
            assert (stored.change.hold, stored.change.held_after_minor,
                    stored.change.balance_after_minor) == (
                expected.change.hold, expected.change.held_after_minor,
                expected.change.balance_after_minor)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_the_sql_store_keeps_holds_as_the_fake_does(backend_name: str, tmp_path: Path) -> None:
    def open_ledger() -> AbstractContextManager[Ledger]:
        return sqlite_ledger(tmp_path) if backend_name == "sqlite" else postgres_ledger()

    @settings(max_examples=EXAMPLES[backend_name], deadline=None, derandomize=True,
              database=None)
    @given(drawn=st.lists(ops, min_size=1, max_size=30), cuts=st.lists(st.integers(1, 6)),
           again=st.lists(st.integers(0, 10), max_size=3))
    def check(drawn: list[tuple[object, ...]], cuts: list[int], again: list[int]) -> None:
        envelopes = build([("deposit", "alice", 500), ("deposit", "bob", 300), *drawn])
        batches, start = [], 0
        for size in [*cuts, len(envelopes)]:
            if start < len(envelopes):
                batches.append(envelopes[start:start + size])
                start += size
        for which in again:  # redeliveries: already applied, so they change nothing
            batches.insert(min(which + 1, len(batches)), batches[min(which, len(batches) - 1)])
        fake = FakeLedgerStore()
        with open_ledger() as ledger:
            assert users_side(run(ledger.store, batches)) == users_side(run(fake, batches))
            same_state(ledger.store, fake, envelopes)

    check()
