"""The bank test's checker: what the clients saw, what the wallet holds, and whether they agree.

Everything here is a pure function of recorded data, so a test can feed it a
fabricated history with a known violation and see it reported. The clients
record each operation's answers; after the run the outcome of every
operation is known (acknowledged or rejected), or it stays unknown, which is
itself reported. The final state is read over the API (balances, each
wallet's history and holds, the audit), from the websocket (every message
received) and straight from the database (the journal).

A violation names its check and what broke it. The checks on money (those on
holds are in `hold_checker`):

- `conservation`: per currency, the balances sum to the acknowledged deposits
  minus the acknowledged payouts and captures (a capture is money leaving);
- `negative_balance`: no user balance, nor any balance after an entry, is below 0;
- `missing_from_history` / `duplicated_in_history` / `history_mismatch`: each
  acknowledged deposit, payout, transfer and capture is in its wallets'
  histories exactly once, as sent, with its reference and metadata (a capture
  as type `capture`, with its `holdId` and its hold's labels);
- `unexpected_transaction`: nothing else is, and nothing the ledger refused;
- `key_applied_twice`: one key was answered with two transactions (or holds),
  twice as the first (not replayed) answer, or both acknowledged and refused;
- `entries_do_not_sum`: each wallet's history and each journal account sum to
  its balance; in the journal, in order of application, every entry's
  balance follows from the one before, and each transaction's entries sum to 0;
- `journal_mismatch`: the journal's committed transactions are the acknowledged ones;
- `websocket_conflict`: one commit delivered twice with different data;
- `websocket_mismatch`: a delivered event that history does not hold as sent;
- `unresolved` and `unexpected_answer`: an outcome still unknown after the run,
  or an answer a correct wallet never gives to these requests (a 409 is one
  only for a capture or a void, and only as `hold_not_active`).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chaos.hold_checker import check_holds
from chaos.records import (
    ACKNOWLEDGED,
    HOLD_NOT_ACTIVE,
    MONEY_KINDS,
    NO_ANSWER,
    UNKNOWN,
    FinalState,
    Journal,
    Operation,
    Violation,
    minor,
)

# What a client may see from a correct wallet under faults besides its operation's
# acknowledgement and refusals: pending, too many requests, or unavailable in some form.
UNDECIDED_STATUSES = frozenset({NO_ANSWER, 202, 429, 500, 502, 503, 504})
DETAILS_PER_CHECK_MAX = 50  # a broken run repeats itself: the first of each kind say enough
SYSTEM_PREFIX = "system:"
CREDITS = ("deposit", "transfer_in")
LEAVING = ("payout", "capture")  # money that leaves the wallet for the outside world


def check(operations: list[Operation], state: FinalState) -> list[Violation]:
    found = [*answers(operations), *conservation(operations, state),
             *negative_balances(state), *history_matches(operations, state),
             *entries_sum(state), *websocket(state), *check_holds(operations, state)]
    if state.journal is not None:
        found += [*journal_sums(state.journal), *journal_matches(operations, state.journal)]
    return found


def answers(operations: list[Operation]) -> Iterator[Violation]:
    for op in operations:
        if op.outcome == UNKNOWN:
            yield Violation("unresolved", f"{op.key}: {[a.status for a in op.answers]}")
        expected = UNDECIDED_STATUSES | {op.acknowledging} | op.refusing
        odd = [a.status for a in op.answers if a.status not in expected
               or (a.status == 409 and a.code != HOLD_NOT_ACTIVE)]
        if odd:
            yield Violation("unexpected_answer", f"{op.key} ({op.kind}) was answered {odd}")
        yield from _applied_once(op)


def _applied_once(op: Operation) -> Iterator[Violation]:
    decided = {op.acknowledging} | op.refusing
    ids = {a.transaction_id for a in op.answers if a.transaction_id}
    firsts = [a for a in op.answers if a.first_hand and a.status in decided and not a.replayed]
    if len(ids) > 1 or len(firsts) > 1:
        yield Violation("key_applied_twice", f"{op.key}: transactions {sorted(ids)}, "
                        f"{len(firsts)} answers not marked as replays")
    statuses = {a.status for a in op.answers}
    if op.acknowledging in statuses and statuses & op.refusing:
        yield Violation("key_applied_twice", f"{op.key} was both committed and refused")


def conservation(operations: list[Operation], state: FinalState) -> Iterator[Violation]:
    expected: Counter[str] = Counter()
    for op in operations:
        if op.outcome == ACKNOWLEDGED and op.kind in LEAVING:
            expected[op.currency] -= op.amount_minor
        elif op.outcome == ACKNOWLEDGED and op.kind == "deposit":
            expected[op.currency] += op.amount_minor
    held: Counter[str] = Counter()
    for (_, currency), balance in state.balances.items():
        held[currency] += balance
    for currency in sorted(set(expected) | set(held)):
        if expected[currency] != held[currency]:
            yield Violation("conservation", f"{currency}: balances sum to {held[currency]}, "
                            f"acknowledged deposits minus payouts and captures are "
                            f"{expected[currency]}")


def negative_balances(state: FinalState) -> Iterator[Violation]:
    for (wallet, currency), balance in sorted(state.balances.items()):
        if balance < 0:
            yield Violation("negative_balance", f"{wallet} holds {balance} {currency}")
    for wallet, items in sorted(state.histories.items()):
        for item in items:
            if minor(item["balanceAfter"], item["currency"], state.exponents) < 0:
                yield Violation("negative_balance", f"{wallet} after {item['id']}: {item}")
    if state.journal is not None:
        for entry in state.journal.entries:
            if entry.balance_after_minor < 0 and not entry.account_id.startswith(SYSTEM_PREFIX):
                yield Violation("negative_balance", f"journal entry {entry}")


def history_matches(operations: list[Operation], state: FinalState) -> Iterator[Violation]:
    seen: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for wallet, items in state.histories.items():
        for item in items:
            seen[(wallet, item["id"])].append(item)
    expected: set[tuple[str, str]] = set()
    for op in operations:
        if op.outcome != ACKNOWLEDGED or op.kind not in MONEY_KINDS:
            continue
        if op.transaction_id is None:  # a capture's 201 without its transaction, say
            yield Violation("unexpected_answer", f"{op.key} was acknowledged without naming "
                            f"its transaction: {op.answers}")
            continue
        for wallet, entry_type in op.expected_entries():
            place = (wallet, op.transaction_id)
            expected.add(place)
            yield from _one_entry(op, entry_type, place, seen.get(place, []), state.exponents)
    for wallet, transaction_id in sorted(set(seen) - expected):
        yield Violation("unexpected_transaction",
                        f"{transaction_id} in {wallet}'s history is no acknowledged operation")


def _one_entry(op: Operation, entry_type: str, place: tuple[str, str],
               items: list[dict[str, Any]], exponents: Mapping[str, int]) -> Iterator[Violation]:
    if not items:
        yield Violation("missing_from_history", f"{op.key} ({place[1]}) not in {place[0]}'s")
        return
    if len(items) > 1:
        yield Violation("duplicated_in_history", f"{op.key} ({place[1]}) {len(items)} times "
                        f"in {place[0]}'s")
    item = items[0]
    sent = (entry_type, op.currency, op.amount_minor, op.hold_id, op.reference, op.metadata)
    held = (item["type"], item["currency"], minor(item["amount"], item["currency"], exponents),
            item.get("holdId"), item.get("reference"), item.get("metadata"))
    if sent != held:
        yield Violation("history_mismatch", f"{op.key}: sent {sent}, history holds {held}")


def entries_sum(state: FinalState) -> Iterator[Violation]:
    for wallet, items in sorted(state.histories.items()):
        sums: Counter[str] = Counter()
        for item in items:  # in time order, which need not be the order of application
            amount = minor(item["amount"], item["currency"], state.exponents)
            sums[item["currency"]] += amount if item["type"] in CREDITS else -amount
        currencies = set(sums) | {c for (w, c) in state.balances if w == wallet}
        for currency in sorted(currencies):
            balance = state.balances.get((wallet, currency), 0)
            if sums[currency] != balance:
                yield Violation("entries_do_not_sum", f"{wallet}: history sums to "
                                f"{sums[currency]} {currency}, the balance is {balance}")


def journal_sums(journal: Journal) -> Iterator[Violation]:
    totals: Counter[tuple[str, str]] = Counter()
    previous: Counter[tuple[str, str]] = Counter()  # each account's last balance_after
    per_transaction: Counter[tuple[str, str]] = Counter()
    for entry in journal.entries:
        account = (entry.account_id, entry.currency)
        totals[account] += entry.amount_minor
        per_transaction[(entry.transaction_id, entry.currency)] += entry.amount_minor
        if previous[account] + entry.amount_minor != entry.balance_after_minor:
            yield Violation("entries_do_not_sum", f"journal {entry} follows a balance of "
                            f"{previous[account]}")
        previous[account] = entry.balance_after_minor
    for account in sorted(set(totals) | set(journal.balances)):
        if totals[account] != journal.balances.get(account, 0):
            yield Violation("entries_do_not_sum", f"journal {account}: entries sum to "
                            f"{totals[account]}, balances holds "
                            f"{journal.balances.get(account, 0)}")
    for (transaction_id, currency), total in sorted(per_transaction.items()):
        if total != 0:
            yield Violation("entries_do_not_sum", f"journal {transaction_id} posts {total} "
                            f"{currency} in all, not 0")


def journal_matches(operations: list[Operation], journal: Journal) -> Iterator[Violation]:
    acknowledged = {op.transaction_id for op in operations
                    if op.outcome == ACKNOWLEDGED and op.kind in MONEY_KINDS
                    and op.transaction_id is not None}
    for transaction_id in sorted(journal.committed_ids - acknowledged):
        yield Violation("journal_mismatch", f"{transaction_id} committed, never acknowledged")
    for transaction_id in sorted(acknowledged - journal.committed_ids):
        yield Violation("journal_mismatch", f"{transaction_id} acknowledged, not committed")


def websocket(state: FinalState) -> Iterator[Violation]:
    delivered: dict[tuple[str, str], dict[str, Any]] = {}
    for event in state.events:
        if event["event"] != "balanceUpdated":
            continue  # holdUpdated: see hold_checker.hold_events
        place = (event["userId"], event["transaction"]["id"])
        first = delivered.setdefault(place, event)
        if first != event:
            yield Violation("websocket_conflict", f"{place} delivered as {first} and as {event}")
    history = {(wallet, item["id"]): item
               for wallet, items in state.histories.items() for item in items}
    for place, event in sorted(delivered.items()):
        item = history.get(place)
        if item is None or event["transaction"] != item or event["balance"] != \
                item["balanceAfter"] or event["currency"] != item["currency"]:
            yield Violation("websocket_mismatch", f"{event} against history {item}")


def summarise(violations: Iterable[Violation]) -> tuple[Counter[str], list[dict[str, str]]]:
    """Counts by check, and the first few of each, for a report a person can read."""
    counts: Counter[str] = Counter()
    kept: list[dict[str, str]] = []
    for violation in violations:
        counts[violation.check] += 1
        if counts[violation.check] <= DETAILS_PER_CHECK_MAX:
            kept.append({"check": violation.check, "detail": violation.detail})
    return counts, kept
