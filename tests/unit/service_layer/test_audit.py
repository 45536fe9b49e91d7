"""service_layer/audit.py: verifying a journal that is hand-written, then tampered with."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from wallet.domain.errors import Forbidden
from wallet.domain.journal import GENESIS, JournalEntry, chain_hash
from wallet.service_layer import audit
from wallet.service_layer.audit import verify_journal
from wallet.service_layer.ports import AuditedAccount, JournalSnapshot

from ..fakes import ALICE, OPERATOR, FakeLedgerStore, stack

_seqs = itertools.count(1)
CREATED_AT = "2026-11-25T10:00:00.123456Z"


def entry(account: str, amount: int, balance_after: int, number: int,
          currency: str = "USD") -> JournalEntry:
    """An entry, not yet chained (hash None)."""
    return JournalEntry(next(_seqs), f"tx-{account}-{number}", account, currency, amount,
                        balance_after, "deposit" if amount > 0 else "payout", None, CREATED_AT,
                        None, None, None, None)


def chained(entries: list[JournalEntry], previous: str = GENESIS) -> list[JournalEntry]:
    """The entries as the store writes them: each hash chained from the one before."""
    out = []
    for each in entries:
        previous = chain_hash(previous, each)
        out.append(replace(each, hash=previous))
    return out


def journal_of(account: str, amounts: list[int], currency: str = "USD") -> list[JournalEntry]:
    running, made = 0, []
    for number, amount in enumerate(amounts, 1):
        running += amount
        made.append(entry(account, amount, running, number, currency))
    return chained(made)


class JournalStore(FakeLedgerStore, JournalSnapshot):
    """Accounts with their journals as given, and whatever a test does to them after. It is
    its own snapshot, and notes every read made while no snapshot was open."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[tuple[str, str], AuditedAccount] = {}
        self.journals: dict[tuple[str, str], list[JournalEntry]] = {}
        self.unbalanced: list[tuple[str, int]] = []
        self.pages: list[tuple[str, int, int]] = []  # (account, after_seq, limit) read
        self.snapshots = 0  # opened so far
        self.snapshot_open = False
        self.reads_outside: list[str] = []  # what was read with no snapshot open

    def add(self, account: str, entries: list[JournalEntry], currency: str = "USD",
            held: int = 0) -> None:
        """An account whose balance and head agree with its entries, as the ledger leaves it."""
        balance = sum(e.amount_minor for e in entries)
        head = entries[-1].hash if entries else None
        self.accounts[account, currency] = AuditedAccount(account, currency, balance, held, head)
        self.journals[account, currency] = entries

    @contextmanager
    def journal_snapshot(self) -> Iterator[JournalSnapshot]:
        assert not self.snapshot_open, "one snapshot at a time"
        self.snapshots += 1
        self.snapshot_open = True
        try:
            yield self
        finally:
            self.snapshot_open = False

    def audited_accounts(self, user_id: str | None) -> list[AuditedAccount]:
        self._note_read("accounts")
        return [a for a in self.accounts.values() if user_id in (None, a.account_id)]

    def journal(
        self, account_id: str, currency: str, after_seq: int, limit: int
    ) -> list[JournalEntry]:
        self._note_read("journal")
        self.pages.append((account_id, after_seq, limit))
        rows = [e for e in self.journals[account_id, currency] if e.seq > after_seq]
        return rows[:limit]

    def unbalanced_transactions(self, user_id: str | None, limit: int) -> list[tuple[str, int]]:
        self._note_read("unbalanced")
        return self.unbalanced[:limit]

    def _note_read(self, what: str) -> None:
        if not self.snapshot_open:
            self.reads_outside.append(what)


def codes(report: audit.AuditReport) -> list[tuple[str, str, int | None]]:
    return [(p.code, p.account, p.entry) for p in report.problems]


@pytest.fixture
def store() -> JournalStore:
    made = JournalStore()
    made.add("alice", journal_of("alice", [500, -200, 300]))
    made.add("bob", journal_of("bob", [100]))
    made.add("system:deposits:0", journal_of("system:deposits:0", [-500, -300, -100]))
    return made


def test_a_clean_journal_has_no_problems_and_counts_what_it_checked(store: JournalStore) -> None:
    report = verify_journal(store, None)
    assert report.to_json() == {"accountsChecked": 3, "entriesChecked": 7, "problems": []}
    assert report.clean


def test_every_read_of_one_audit_comes_from_one_snapshot_closed_after(
        store: JournalStore) -> None:
    """Balances, heads and entries read as of one instant: on a busy ledger they agree."""
    verify_journal(store, None)
    assert (store.snapshots, store.reads_outside, store.snapshot_open) == (1, [], False)


def test_one_user_is_checked_alone(store: JournalStore) -> None:
    report = verify_journal(store, "alice")
    assert (report.accounts_checked, report.entries_checked) == (1, 3)


def test_a_tampered_amount_breaks_the_chain_at_that_entry_and_the_sums(
        store: JournalStore) -> None:
    entries = store.journals["alice", "USD"]
    entries[1] = replace(entries[1], amount_minor=-20)  # the hash stays the old one
    report = verify_journal(store, None)
    tampered = entries[1].seq
    assert codes(report) == [("chain_broken", "alice", tampered),
                             ("balance_mismatch", "alice", tampered),
                             ("balance_mismatch", "alice", None)]
    broken = report.to_json()["problems"][0]
    assert broken == {"code": "chain_broken", "account": "alice", "currency": "USD",
                      "entry": tampered, "transactionId": "tx-alice-2",
                      "message": broken["message"]}


def test_a_tampered_amount_and_balance_still_breaks_the_chain(store: JournalStore) -> None:
    """Whoever rewrites every number consistently cannot rewrite the hash without the chain."""
    entries = store.journals["alice", "USD"]
    entries[2] = replace(entries[2], amount_minor=3_000, balance_after_minor=3_300)
    store.accounts["alice", "USD"] = replace(store.accounts["alice", "USD"], balance_minor=3_300)
    assert codes(verify_journal(store, None)) == [("chain_broken", "alice", entries[2].seq)]


def test_a_tampered_hash_is_named_once(store: JournalStore) -> None:
    entries = store.journals["alice", "USD"]
    entries[0] = replace(entries[0], hash="f" * 64)
    report = verify_journal(store, None)
    # The next entry chained from the true hash, so it breaks too: one account, one report.
    assert codes(report) == [("chain_broken", "alice", entries[0].seq)]


def test_a_tampered_last_hash_also_leaves_the_head_behind(store: JournalStore) -> None:
    entries = store.journals["alice", "USD"]
    entries[-1] = replace(entries[-1], hash="e" * 64)
    assert codes(verify_journal(store, None)) == [("chain_broken", "alice", entries[-1].seq),
                                                  ("head_mismatch", "alice", None)]


def test_a_removed_entry_breaks_the_chain_at_the_next(store: JournalStore) -> None:
    entries = store.journals["alice", "USD"]
    del entries[1]
    report = verify_journal(store, None)
    assert codes(report) == [("chain_broken", "alice", entries[1].seq),
                             ("balance_mismatch", "alice", entries[1].seq),
                             ("balance_mismatch", "alice", None)]
    assert report.entries_checked == 6


def test_a_removed_last_entry_is_a_head_mismatch(store: JournalStore) -> None:
    store.journals["bob", "USD"].pop()
    assert codes(verify_journal(store, "bob")) == [("head_mismatch", "bob", None),
                                                   ("balance_mismatch", "bob", None)]


def test_a_head_that_is_not_the_last_entry_is_named(store: JournalStore) -> None:
    store.accounts["bob", "USD"] = replace(store.accounts["bob", "USD"], head="a" * 64)
    assert codes(verify_journal(store, None)) == [("head_mismatch", "bob", None)]


def test_a_balance_that_drifted_from_its_entries_is_named(store: JournalStore) -> None:
    store.accounts["bob", "USD"] = replace(store.accounts["bob", "USD"], balance_minor=150)
    (problem,) = verify_journal(store, None).problems
    assert (problem.code, problem.account, problem.entry) == ("balance_mismatch", "bob", None)
    assert "1.50 USD" in problem.message and "1.00 USD" in problem.message


def test_a_user_balance_that_went_below_zero_is_named_at_its_first_entry() -> None:
    store = JournalStore()
    negative = journal_of("carol", [100, -300, 50, 400])
    store.add("carol", negative)
    assert codes(verify_journal(store, None)) == [("negative_balance", "carol", negative[1].seq)]


def test_system_accounts_may_be_negative(store: JournalStore) -> None:
    assert store.accounts["system:deposits:0", "USD"].balance_minor < 0
    assert verify_journal(store, None).clean


def test_legacy_unhashed_entries_are_summed_and_the_chain_starts_after_them() -> None:
    store = JournalStore()
    legacy = [entry("dave", 100, 100, 1), entry("dave", 50, 150, 2)]
    hashed = chained([entry("dave", -30, 120, 3), entry("dave", 5, 125, 4)])
    store.add("dave", legacy + hashed)
    report = verify_journal(store, None)
    assert (report.clean, report.entries_checked) == (True, 4)


def test_legacy_entries_still_count_towards_the_balance() -> None:
    store = JournalStore()
    store.add("dave", [entry("dave", 100, 100, 1), entry("dave", 50, 150, 2)])
    store.accounts["dave", "USD"] = replace(store.accounts["dave", "USD"], balance_minor=100)
    assert codes(verify_journal(store, None)) == [("balance_mismatch", "dave", None)]


def test_an_unhashed_entry_after_a_hashed_one_breaks_the_chain() -> None:
    store = JournalStore()
    entries = journal_of("erin", [100, 20, 30])
    entries[1] = replace(entries[1], hash=None)
    store.add("erin", entries)
    assert codes(verify_journal(store, None))[0] == ("chain_broken", "erin", entries[1].seq)


def test_held_money_beyond_the_balance_is_named(store: JournalStore) -> None:
    store.accounts["bob", "USD"] = replace(store.accounts["bob", "USD"], held_minor=101)
    store.accounts["alice", "USD"] = replace(store.accounts["alice", "USD"], held_minor=-1)
    assert codes(verify_journal(store, None)) == [("held_exceeds_balance", "alice", None),
                                                  ("held_exceeds_balance", "bob", None)]


def test_held_money_within_the_balance_is_fine(store: JournalStore) -> None:
    store.accounts["bob", "USD"] = replace(store.accounts["bob", "USD"], held_minor=100)
    assert verify_journal(store, None).clean


def test_an_unbalanced_transaction_names_its_account(store: JournalStore) -> None:
    store.unbalanced = [("tx-alice-2", -200)]
    (problem,) = verify_journal(store, None).problems
    assert problem.to_json() == {
        "code": "unbalanced_transaction", "account": "alice", "currency": "USD",
        "transactionId": "tx-alice-2", "message": problem.message}


def test_entries_are_read_a_bounded_page_at_a_time(
        store: JournalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "JOURNAL_PAGE_SIZE", 2)
    report = verify_journal(store, "alice")
    seqs = [e.seq for e in store.journals["alice", "USD"]]
    assert store.pages == [("alice", 0, 2), ("alice", seqs[1], 2)]
    assert (report.clean, report.entries_checked) == (True, 3)


def test_a_chain_broken_across_a_page_boundary_is_found(
        store: JournalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "JOURNAL_PAGE_SIZE", 1)
    entries = store.journals["alice", "USD"]
    entries[2] = replace(entries[2], reference="changed")
    assert codes(verify_journal(store, None)) == [("chain_broken", "alice", entries[2].seq)]


def test_problems_are_capped_and_the_report_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "PROBLEMS_MAX", 2)
    store = JournalStore()
    for name in ("a", "b", "c"):
        store.add(name, journal_of(name, [10]))
        store.accounts[name, "USD"] = replace(store.accounts[name, "USD"], balance_minor=11)
    report = verify_journal(store, None)
    assert [p.account for p in report.problems] == ["a", "b"]
    assert report.to_json()["problemsCapped"] is True
    assert report.accounts_checked == 3


def test_only_operators_verify(store: JournalStore) -> None:
    service = stack(store=store).service
    with pytest.raises(Forbidden):
        asyncio.run(service.verify(ALICE, "alice"))
    assert asyncio.run(service.verify(OPERATOR, None)).entries_checked == 7


def test_an_unbalanced_transaction_is_reported_on_its_wallet_before_a_system_account() -> None:
    store = JournalStore()
    system = journal_of("system:payouts:1", [700])
    store.add("system:payouts:1", system)
    store.add("frank", chained([replace(entry("frank", -700, -700, 1),
                                        transaction_id=system[0].transaction_id)]))
    store.unbalanced = [(system[0].transaction_id, 100)]
    problem = next(p for p in verify_journal(store, None).problems
                   if p.code == "unbalanced_transaction")
    assert (problem.account, problem.transaction_id) == ("frank", system[0].transaction_id)


def test_an_unbalanced_transaction_no_account_shows_still_names_the_user() -> None:
    store = JournalStore()
    store.unbalanced = [("tx-gone", 5)]
    (problem,) = verify_journal(store, "gina").problems
    assert (problem.code, problem.account, problem.transaction_id) == (
        "unbalanced_transaction", "gina", "tx-gone")


def test_more_unbalanced_transactions_than_can_be_listed_are_said_to_be_capped(
        store: JournalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "PROBLEMS_MAX", 2)
    store.unbalanced = [(f"tx-{n}", 1) for n in range(3)]
    report = verify_journal(store, None)
    assert (len(report.problems), report.problems_capped) == (2, True)
    store.unbalanced = store.unbalanced[:2]
    assert verify_journal(store, None).problems_capped is False
