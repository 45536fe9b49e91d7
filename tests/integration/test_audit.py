"""Verifying the journal on the real stores: clean after real transactions, and a stored entry
tampered with behind the append-only triggers' back is named, account and entry. Both hold
while another thread keeps committing: the audit reads one snapshot, which no write waits for.

The tampering is what a database superuser could do: on PostgreSQL, triggers
switched off for the session (`session_replication_role = replica`); on
SQLite, the trigger dropped, the row changed, and the trigger put back.
"""

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect
from wallet.bootstrap import DATABASE_FILE
from wallet.domain.commands import (
    CaptureHold,
    Deposit,
    LedgerCommand,
    Payout,
    PlaceHold,
    Transfer,
)
from wallet.service_layer.audit import AuditReport, verify_journal
from wallet.service_layer.ledger import apply_batch

from .support import (
    Backend,
    HeldRawPostgres,
    RawLedger,
    RawPostgres,
    RawSQLite,
    StepClock,
    envelope,
    unique,
    wait_until,
)

CLI_TIMEOUT_S = 60
AUDITS_UNDER_LOAD = 10  # each must be clean: one stray problem in ten fails the test
WRITE_PAUSE_S = 0.0005  # between the writer's batches: writes keep flowing, the audit still runs
WRITER_STOP_TIMEOUT_S = 30.0
# Batches committed before the audits start: a history long enough that an audit takes a few
# milliseconds, so the writer's commits land in the middle of it.
WARM_UP_BATCHES = 50
WRITE_TIMEOUT_S = 5.0  # under SQLite's 10 s busy timeout: a write the snapshot blocked fails


def write_journal(store: SqlLedgerStore, clock: StepClock) -> tuple[str, str]:
    """Real transactions, through the consumer's own path: two wallets, a held and captured
    hold among them. Returns the two wallets' ids."""
    alice, bob = unique("alice"), unique("bob")
    hold_id = str(uuid.uuid4())
    batches: list[list[LedgerCommand]] = [
        [Deposit(alice, 50_000, "USD"), Deposit(bob, 3_000, "USD", reference="r-1")],
        [Transfer(alice, bob, 2_000, "USD"), Payout(bob, 1_000, "USD")],
        [Deposit(alice, 700, "EUR", metadata=(("order", "42"),))],
    ]
    for commands in batches:
        apply_batch(store, MemoryBalanceCache(), [envelope(c) for c in commands], clock)
    apply_batch(store, MemoryBalanceCache(),
                [envelope(PlaceHold(alice, 5_000, "USD"), hold_id)], clock)
    apply_batch(store, MemoryBalanceCache(),
                [envelope(CaptureHold(hold_id, alice, 1_500, "USD"))], clock)
    return alice, bob


def tamper(raw: RawLedger, sql: str, params: Sequence[Any] = ()) -> None:
    """Runs one UPDATE or DELETE on entries as a superuser would, past the triggers."""
    if isinstance(raw, RawPostgres):
        held = HeldRawPostgres(raw.url)
        try:
            held.execute("SET session_replication_role = replica")  # no ordinary trigger fires
            held.execute(sql, params)
        finally:
            held.close()
        return
    trigger = f"entries_no_{sql.split()[0].lower()}"
    ((create,),) = raw.rows(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND lower(name) = ?", [trigger])
    raw.execute(f"DROP TRIGGER {trigger}")
    raw.execute(sql, params)
    raw.execute(create)


def entry_of(raw: RawLedger, account: str, currency: str, index: int) -> tuple[int, str]:
    """(seq, transaction id) of the account's entry number `index`, in chain order."""
    rows = raw.rows("SELECT seq, transaction_id FROM entries WHERE account_id = ? AND "
                    "currency = ? ORDER BY seq", [account, currency])
    seq, transaction_id = rows[index]
    return int(seq), str(transaction_id)


class Writer:
    """A thread committing deposits and transfers through the consumer's path until stopped,
    on wallets of its own and on the system accounts every deposit debits."""

    def __init__(self, store: SqlLedgerStore, clock: StepClock) -> None:
        self._store, self._clock = store, clock
        self._wallets = [unique("busy") for _ in range(3)]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="busy-writer", daemon=True)
        self._error: BaseException | None = None
        self.batches = 0  # committed so far; only this thread writes it

    def __enter__(self) -> "Writer":
        self._thread.start()
        wait_until(lambda: self.batches >= WARM_UP_BATCHES or self._error is not None,
                   "the writer's first batches")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stopping.set()
        self._thread.join(WRITER_STOP_TIMEOUT_S)
        assert not self._thread.is_alive(), "the writer did not stop"
        if self._error is not None and error is None:
            raise self._error

    def _run(self) -> None:
        first, second, third = self._wallets
        commands: list[LedgerCommand] = [
            Deposit(first, 1_000, "USD"), Deposit(second, 700, "USD"),
            Transfer(first, third, 300, "USD"), Deposit(third, 50, "EUR")]
        try:
            while not self._stopping.is_set():
                apply_batch(self._store, MemoryBalanceCache(),
                            [envelope(command) for command in commands], self._clock)
                self.batches += 1
                self._stopping.wait(WRITE_PAUSE_S)
        except BaseException as error:  # handed to the test thread, which fails with it
            self._error = error


def named(report: AuditReport, code: str) -> list[tuple[str, str, int | None, str | None]]:
    return [(p.account, p.currency, p.entry, p.transaction_id)
            for p in report.problems if p.code == code]


def test_a_journal_written_by_the_consumer_verifies_clean(
        store: SqlLedgerStore, raw: RawLedger, clock: StepClock) -> None:
    alice, _ = write_journal(store, clock)
    report = verify_journal(store, None)
    assert report.problems == ()
    assert report.accounts_checked == raw.count("balances")
    assert report.entries_checked == raw.count("entries") > 0
    mine = verify_journal(store, alice)
    assert (mine.accounts_checked, mine.entries_checked) == (
        2, raw.count("entries", "account_id = ?", [alice]))  # USD and EUR


def test_the_triggers_refuse_a_plain_update(
        backend: Backend, store: SqlLedgerStore, clock: StepClock) -> None:
    """So the tampering below really goes around them."""
    write_journal(store, clock)
    with pytest.raises(backend.refusal_error):
        backend.raw.execute("UPDATE entries SET amount = amount + 1")


def test_a_tampered_amount_names_that_account_and_entry(
        backend: Backend, store: SqlLedgerStore, clock: StepClock) -> None:
    alice, bob = write_journal(store, clock)
    seq, transaction_id = entry_of(backend.raw, bob, "USD", 1)  # the transfer in
    tamper(backend.raw, "UPDATE entries SET amount = amount + 100000 WHERE seq = ?", [seq])
    report = verify_journal(store, None)
    assert named(report, "chain_broken") == [(bob, "USD", seq, transaction_id)]
    assert (bob, "USD", seq, transaction_id) in named(report, "balance_mismatch")
    # Only the sum shows the transfer unbalanced, not which leg changed: its first wallet.
    assert named(report, "unbalanced_transaction") == [(alice, "USD", None, transaction_id)]
    assert {p.account for p in report.problems} == {alice, bob}
    assert any(p.transaction_id == transaction_id for p in verify_journal(store, bob).problems)
    assert backend.raw.triggers() >= {"entries_no_update", "entries_no_delete"}  # put back


def test_a_tampered_hash_names_that_entry(
        backend: Backend, store: SqlLedgerStore, clock: StepClock) -> None:
    alice, _ = write_journal(store, clock)
    seq, _ = entry_of(backend.raw, alice, "USD", 0)
    tamper(backend.raw, "UPDATE entries SET hash = ? WHERE seq = ?", ["0" * 64, seq])
    report = verify_journal(store, alice)
    assert [(p.code, p.account, p.entry) for p in report.problems] == [
        ("chain_broken", alice, seq)]


def test_a_removed_entry_is_named_at_the_next_and_its_transaction_is_unbalanced(
        backend: Backend, store: SqlLedgerStore, clock: StepClock) -> None:
    alice, _ = write_journal(store, clock)
    removed_seq, removed_transaction = entry_of(backend.raw, alice, "USD", 1)
    next_seq, _ = entry_of(backend.raw, alice, "USD", 2)
    tamper(backend.raw, "DELETE FROM entries WHERE seq = ?", [removed_seq])
    report = verify_journal(store, None)
    assert [(a, e) for a, _, e, _ in named(report, "chain_broken")] == [(alice, next_seq)]
    assert (alice, "USD", None, None) in named(report, "balance_mismatch")
    assert [t for _, _, _, t in named(report, "unbalanced_transaction")] == [removed_transaction]


def test_a_snapshot_neither_holds_up_a_write_nor_sees_it(
        store: SqlLedgerStore, clock: StepClock) -> None:
    alice, _ = write_journal(store, clock)
    deposit = [envelope(Deposit(alice, 5, "USD"))]
    with store.journal_snapshot() as journal:
        before = journal.audited_accounts(alice)
        with ThreadPoolExecutor(1) as writer:  # another thread: another connection
            writer.submit(apply_batch, store, MemoryBalanceCache(), deposit, clock).result(
                timeout=WRITE_TIMEOUT_S)
        assert journal.audited_accounts(alice) == before
        (usd,) = [account for account in before if account.currency == "USD"]
        assert journal.journal(alice, "USD", 0, 100)[-1].hash == usd.head
    with store.journal_snapshot() as journal:  # a new snapshot sees the write
        (now,) = [a for a in journal.audited_accounts(alice) if a.currency == "USD"]
    assert now.balance_minor == usd.balance_minor + 5


def test_every_audit_of_a_busy_ledger_is_clean(store: SqlLedgerStore, clock: StepClock) -> None:
    """Balances, heads and entries change between any two reads: the audit must still see
    each account whole, as of one instant, and report nothing on an untouched ledger."""
    write_journal(store, clock)
    with Writer(store, clock) as writer:
        overlapped = 0
        for _ in range(AUDITS_UNDER_LOAD):
            before = writer.batches
            report = verify_journal(store, None)
            overlapped += writer.batches > before
            assert report.problems == (), [p.to_json() for p in report.problems]
    assert overlapped > 0, "no batch committed while an audit ran: the test proved nothing"


def test_a_tampered_amount_is_named_alone_while_writes_flow(
        backend: Backend, store: SqlLedgerStore, clock: StepClock) -> None:
    alice, bob = write_journal(store, clock)
    seq, transaction_id = entry_of(backend.raw, bob, "USD", 1)  # the transfer in
    with Writer(store, clock):
        tamper(backend.raw, "UPDATE entries SET amount = amount + 100000 WHERE seq = ?", [seq])
        reports = [verify_journal(store, None) for _ in range(AUDITS_UNDER_LOAD)]
    for report in reports:
        assert named(report, "chain_broken") == [(bob, "USD", seq, transaction_id)]
        assert named(report, "unbalanced_transaction") == [(alice, "USD", None, transaction_id)]
        # Only what the tampering broke: nothing on the accounts the writer kept changing.
        assert {(p.code, p.account) for p in report.problems} == {
            ("chain_broken", bob), ("balance_mismatch", bob), ("unbalanced_transaction", alice)}


def cli_env(data_dir: Path) -> dict[str, str]:
    """The embedded configuration: a SQLite file in the data directory, nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLET_")}
    return {**env, "WALLET_DATA_DIR": str(data_dir)}


def wallet_verify(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wallet_runtime.cli", "verify", *arguments],
        env=cli_env(data_dir), capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


def test_wallet_verify_exits_0_when_clean_and_1_naming_a_tampered_entry(
        tmp_path: Path, clock: StepClock) -> None:
    data_dir = tmp_path / "data"
    path = data_dir / DATABASE_FILE
    store = SqlLedgerStore(SQLiteDialect(path))
    store.migrate()
    try:
        alice, _ = write_journal(store, clock)
    finally:
        store.close()
    clean = wallet_verify(data_dir)
    assert clean.returncode == 0, clean.stderr
    body = json.loads(clean.stdout)
    assert body["problems"] == [] and body["entriesChecked"] > 0

    raw = RawSQLite(path)
    seq, transaction_id = entry_of(raw, alice, "EUR", 0)
    tamper(raw, "UPDATE entries SET amount = 70000 WHERE seq = ?", [seq])
    tampered = wallet_verify(data_dir, "--user-id", alice)
    assert tampered.returncode == 1, tampered.stderr
    first = json.loads(tampered.stdout)["problems"][0]
    assert first.pop("message")
    assert first == {"code": "chain_broken", "account": alice, "currency": "EUR", "entry": seq,
                     "transactionId": transaction_id}


def test_wallet_verify_refuses_a_malformed_user_id(tmp_path: Path) -> None:
    refused = wallet_verify(tmp_path, "--user-id", "system:deposits")
    assert refused.returncode == 2
    assert "--user-id" in refused.stderr
