"""Verifying the journal: recompute every account's hash chain and sums, and say what is wrong.

Verification trusts nothing the store derived: it reads each account's
entries in chain order, page by page, recomputes the chain from GENESIS with
domain/journal.py's `chain_hash`, and sums the amounts itself. A changed
entry breaks its chain at that entry; a removed one breaks it at the next
(its hash was chained from the missing entry's) or, if it was the last, at
the account's head; either way the sums no longer meet the balance.

Entries written before the chain existed carry no hash. They are summed like
any other, but an account's chain can only start after them: an unhashed
entry after a hashed one is a break, since nothing but a rewrite makes one.

Each kind of finding is reported once per account, at its first entry, so a
single tampering reads as one line, not as every entry after it.

Writes go on while it runs. Every read goes through one journal snapshot:
balances, heads, entries and transaction sums all as one instant left them,
so an account's balance and head always come with exactly the entries that
produced them, and on a busy ledger only real tampering is reported. What
commits after that instant is checked by the next run.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.journal import GENESIS, JournalEntry, chain_hash
from wallet.domain.money import Currency, format_minor
from wallet.service_layer.ports import AuditedAccount, JournalSnapshot, LedgerStore

JOURNAL_PAGE_SIZE = 1_000  # entries read per query: one page's memory, whatever the history
PROBLEMS_MAX = 1_000  # problems reported; past it the report says it was capped
SYSTEM_PREFIX = "system:"  # system accounts stand for the outside world and may go negative

CHAIN_BROKEN = "chain_broken"
HEAD_MISMATCH = "head_mismatch"
BALANCE_MISMATCH = "balance_mismatch"
NEGATIVE_BALANCE = "negative_balance"
UNBALANCED_TRANSACTION = "unbalanced_transaction"
HELD_EXCEEDS_BALANCE = "held_exceeds_balance"


@dataclass(frozen=True)
class Problem:
    code: str
    account: str  # as stored: a system account's shard
    currency: str
    message: str
    entry: int | None = None  # the entry's seq
    transaction_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Optional fields are omitted when absent, never null."""
        body: dict[str, Any] = {"code": self.code, "account": self.account,
                                "currency": self.currency}
        if self.entry is not None:
            body["entry"] = self.entry
        if self.transaction_id is not None:
            body["transactionId"] = self.transaction_id
        return body | {"message": self.message}


@dataclass(frozen=True)
class AuditReport:
    accounts_checked: int
    entries_checked: int
    problems: tuple[Problem, ...]
    problems_capped: bool = False  # more were found than PROBLEMS_MAX; the first are listed

    @property
    def clean(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"accountsChecked": self.accounts_checked,
                                "entriesChecked": self.entries_checked,
                                "problems": [problem.to_json() for problem in self.problems]}
        if self.problems_capped:  # only then: a clean or short report has exactly three fields
            body["problemsCapped"] = True
        return body


@dataclass
class _Findings:
    """Problems so far, at most PROBLEMS_MAX of them."""

    problems: list[Problem] = field(default_factory=list)
    capped: bool = False

    def add(self, problem: Problem) -> None:
        if len(self.problems) < PROBLEMS_MAX:
            self.problems.append(problem)
        else:
            self.capped = True


def verify_journal(store: LedgerStore, user_id: str | None) -> AuditReport:
    """Checks every account of `user_id` (None: every account, system shards too), as of
    the instant its snapshot was taken."""
    with store.journal_snapshot() as journal:
        return _verify(journal, user_id)


def _verify(journal: JournalSnapshot, user_id: str | None) -> AuditReport:
    findings = _Findings()
    # One more than can be listed: if it comes back, the report says it was capped.
    unbalanced = dict(journal.unbalanced_transactions(user_id, PROBLEMS_MAX + 1))
    seen_in: dict[str, tuple[str, str]] = {}  # an unbalanced transaction's account, currency
    accounts = journal.audited_accounts(user_id)
    entries = 0
    for account in accounts:
        entries += _AccountCheck(account, findings, unbalanced, seen_in).run(journal)
    for transaction_id, total in unbalanced.items():
        findings.add(_unbalanced(transaction_id, total, seen_in.get(transaction_id), user_id))
    return AuditReport(len(accounts), entries, tuple(findings.problems), findings.capped)


def _unbalanced(
    transaction_id: str, total: int, where: tuple[str, str] | None, user_id: str | None
) -> Problem:
    account, currency = where or (user_id or "", "")
    return Problem(UNBALANCED_TRANSACTION, account, currency,
                   f"the postings of transaction {transaction_id} sum to {total} minor units, "
                   "not zero", transaction_id=transaction_id)


class _AccountCheck:
    """One account's walk along its chain: the recomputed hash, the running sum, what broke."""

    def __init__(self, account: AuditedAccount, findings: _Findings, unbalanced: dict[str, int],
                 seen_in: dict[str, tuple[str, str]]) -> None:
        self._account, self._findings = account, findings
        self._unbalanced, self._seen_in = unbalanced, seen_in
        self._user = not account.account_id.startswith(SYSTEM_PREFIX)
        self._previous = GENESIS  # the hash the next hashed entry must chain from
        self._hashed = False  # a hashed entry was seen: every later one must be hashed too
        self._last_hash: str | None = None
        self._total = 0
        self._reported: set[str] = set()

    def run(self, journal: JournalSnapshot) -> int:
        count = 0
        for entry in _entries(journal, self._account):
            self._check(entry)
            count += 1
        self._check_totals()
        return count

    def _check(self, entry: JournalEntry) -> None:
        self._check_chain(entry)
        self._total += entry.amount_minor
        if entry.balance_after_minor != self._total:
            self._report(BALANCE_MISMATCH, entry, f"entry {entry.seq} says the balance became "
                         f"{self._money(entry.balance_after_minor)}, its entries sum to "
                         f"{self._money(self._total)}")
        if self._user and self._total < 0:
            self._report(NEGATIVE_BALANCE, entry, f"the balance fell to "
                         f"{self._money(self._total)} at entry {entry.seq}")
        if entry.transaction_id in self._unbalanced:
            self._note_unbalanced(entry)

    def _note_unbalanced(self, entry: JournalEntry) -> None:
        """Where an unbalanced transaction is reported: its first wallet, else its first
        system account, in the order accounts are checked."""
        seen = self._seen_in.get(entry.transaction_id)
        if seen is None or (self._user and seen[0].startswith(SYSTEM_PREFIX)):
            self._seen_in[entry.transaction_id] = (entry.account_id, entry.currency)

    def _check_chain(self, entry: JournalEntry) -> None:
        self._last_hash = entry.hash
        if entry.hash is None:
            if self._hashed:
                self._report(CHAIN_BROKEN, entry, f"entry {entry.seq} has no hash, though an "
                             "earlier entry of this account has one")
            return  # written before the chain existed: summed, but not chained
        if entry.hash != chain_hash(self._previous, entry):
            self._report(CHAIN_BROKEN, entry, f"entry {entry.seq} does not hash to its stored "
                         "hash: it, or an entry before it, was changed or removed")
        self._hashed = True
        self._previous = entry.hash  # the stored one: a later, separate break still shows

    def _check_totals(self) -> None:
        account = self._account
        if account.head != self._last_hash:
            self._report(HEAD_MISMATCH, None, "the account's head is not its last entry's hash: "
                         "an entry was removed or added outside the ledger")
        if account.balance_minor != self._total:
            self._report(BALANCE_MISMATCH, None, f"the balance is "
                         f"{self._money(account.balance_minor)}, its entries sum to "
                         f"{self._money(self._total)}")
        if self._user and account.balance_minor < 0:
            self._report(NEGATIVE_BALANCE, None,
                         f"the balance is {self._money(account.balance_minor)}")
        # Only wallets hold money: a system account's held is zero, a wallet's within its balance.
        held_max = max(account.balance_minor, 0) if self._user else 0
        if not 0 <= account.held_minor <= held_max:
            self._report(HELD_EXCEEDS_BALANCE, None, f"{self._money(account.held_minor)} is "
                         f"held of a balance of {self._money(account.balance_minor)}")

    def _report(self, code: str, entry: JournalEntry | None, message: str) -> None:
        """Once per code and account, and once more for the account's totals."""
        key = code if entry is not None else f"{code}:account"
        if key in self._reported:
            return
        self._reported.add(key)
        account = self._account
        self._findings.add(Problem(
            code, account.account_id, account.currency, message,
            None if entry is None else entry.seq,
            None if entry is None else entry.transaction_id))

    def _money(self, minor: int) -> str:
        currency = self._account.currency
        exponent = MINOR_UNIT_EXPONENTS.get(currency)
        if exponent is None:
            return f"{minor} minor units of {currency}"
        return f"{format_minor(minor, Currency(currency, exponent))} {currency}"


def _entries(journal: JournalSnapshot, account: AuditedAccount) -> Iterator[JournalEntry]:
    """Every entry of the account in chain order, JOURNAL_PAGE_SIZE at a time."""
    after_seq = 0
    while True:
        page = journal.journal(account.account_id, account.currency, after_seq, JOURNAL_PAGE_SIZE)
        for entry in page:
            assert entry.seq > after_seq, "the journal's pages move forward"
            after_seq = entry.seq
            yield entry
        if len(page) < JOURNAL_PAGE_SIZE:
            return


