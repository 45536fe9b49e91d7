"""The chaos checker fails: a fabricated run with one known violation of each kind is caught.

A small model ledger builds the final state a correct wallet would leave for
a list of operations (balances, histories, journal, websocket events); each
test then breaks one thing the way a buggy wallet would and expects that
check, and only a check of that kind, to report it.
"""

import copy
from collections import Counter
from typing import Any

import pytest

from chaos.checker import check, summarise
from chaos.records import (
    ACKNOWLEDGED,
    REJECTED,
    UNKNOWN,
    Answer,
    FinalState,
    Journal,
    JournalEntry,
    Operation,
)

EXPONENTS = {"USD": 2, "JPY": 0}


def _text(amount_minor: int, currency: str) -> str:
    exponent = EXPONENTS[currency]
    whole, fraction = divmod(amount_minor, 10 ** exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


def _acknowledged(key: str, kind: str, wallet: str, amount: int, currency: str = "USD",
                  to: str | None = None) -> Operation:
    op = Operation(key, kind, wallet, currency, amount, counterparty=to,
                   outcome=ACKNOWLEDGED, transaction_id=f"tx-{key}")
    op.answers.append(Answer(201, op.transaction_id))
    return op


def _operations() -> list[Operation]:
    refused = Operation("k5", "payout", "bob", "USD", 99_999, outcome=REJECTED)
    refused.answers.append(Answer(422))
    late = _acknowledged("k6", "deposit", "bob", 7, "JPY")
    late.answers = [Answer(0), Answer(202, "tx-k6"), Answer(201, "tx-k6", replayed=True)]
    return [_acknowledged("k1", "deposit", "alice", 10_000),
            _acknowledged("k2", "deposit", "bob", 500, "JPY"),
            _acknowledged("k3", "transfer", "alice", 2_550, to="bob"),
            _acknowledged("k4", "payout", "alice", 1_000), refused, late]


def _model(operations: list[Operation]) -> FinalState:
    """What a correct wallet holds after the acknowledged operations, in their order."""
    balances: Counter[tuple[str, str]] = Counter()
    histories: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": []}
    entries: list[JournalEntry] = []
    events: list[dict[str, Any]] = []
    for op in operations:
        if op.outcome != ACKNOWLEDGED:
            continue
        assert op.transaction_id is not None
        system = "system:deposits" if op.kind == "deposit" else "system:payouts"
        sides = {"deposit": [(system, -1, None), (op.wallet, 1, "deposit")],
                 "payout": [(op.wallet, -1, "payout"), (system, 1, None)],
                 "transfer": [(op.wallet, -1, "transfer_out"),
                              (op.counterparty, 1, "transfer_in")]}[op.kind]
        for account, sign, entry_type in sides:
            assert account is not None
            balances[(account, op.currency)] += sign * op.amount_minor
            after = balances[(account, op.currency)]
            entries.append(JournalEntry(len(entries) + 1, op.transaction_id, account,
                                        op.currency, sign * op.amount_minor, after))
            if entry_type is None:
                continue
            item = {"id": op.transaction_id, "userId": account, "type": entry_type,
                    "amount": _text(op.amount_minor, op.currency), "currency": op.currency,
                    "balanceAfter": _text(after, op.currency), "status": "committed",
                    "createdAt": "2026-12-01T12:00:00.000000Z"}
            histories[account].append(item)
            events.append({"event": "balanceUpdated", "userId": account,
                           "currency": op.currency, "balance": item["balanceAfter"],
                           "transaction": dict(item)})
    journal = Journal(entries, dict(balances),
                      {op.transaction_id for op in operations
                       if op.outcome == ACKNOWLEDGED and op.transaction_id})
    users = {place: amount for place, amount in balances.items()
             if not place[0].startswith("system:")}
    return FinalState(EXPONENTS, users, histories, events + copy.deepcopy(events[:2]), journal)


def _checks(operations: list[Operation], state: FinalState) -> set[str]:
    return {violation.check for violation in check(operations, state)}


def test_a_correct_run_has_no_violation() -> None:
    operations = _operations()
    assert check(operations, _model(operations)) == []


def test_money_from_nowhere_breaks_conservation() -> None:
    operations = _operations()
    state = _model(operations)
    operations[0].outcome = REJECTED  # the deposit applied, but its client heard a refusal
    assert "conservation" in _checks(operations, state)


def test_a_negative_balance_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    state.balances = {**state.balances, ("carol", "USD"): -1, ("dave", "USD"): 1}
    assert "negative_balance" in _checks(operations, state)


def test_an_acknowledged_operation_missing_from_history_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    state.histories["alice"].pop(0)
    assert "missing_from_history" in _checks(operations, state)


def test_an_operation_twice_in_history_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    state.histories["bob"].append(dict(state.histories["bob"][0]))
    assert "duplicated_in_history" in _checks(operations, state)


def test_an_amount_other_than_the_one_sent_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    state.histories["alice"][0]["amount"] = "100.01"
    assert "history_mismatch" in _checks(operations, state)


def test_a_key_answered_with_two_transactions_applied_twice() -> None:
    operations = _operations()
    state = _model(operations)
    operations[0].answers.append(Answer(201, "tx-other", replayed=True))
    assert _checks(operations, state) == {"key_applied_twice"}


def test_two_first_hand_answers_to_one_key_mean_it_applied_twice() -> None:
    operations = _operations()
    state = _model(operations)
    operations[0].answers.append(Answer(201, operations[0].transaction_id))
    assert _checks(operations, state) == {"key_applied_twice"}


def test_a_transaction_nobody_acknowledged_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    operations[3].outcome, operations[3].answers = UNKNOWN, [Answer(0)]  # never resolved
    assert {"unexpected_transaction", "unresolved", "journal_mismatch"} <= \
        _checks(operations, state)


def test_history_that_does_not_sum_to_the_balance_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    state.balances = {**state.balances, ("alice", "USD"): state.balances[("alice", "USD")] + 5,
                      ("bob", "JPY"): state.balances[("bob", "JPY")] - 5}
    assert "entries_do_not_sum" in _checks(operations, state)


def test_a_journal_entry_off_its_running_balance_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    assert state.journal is not None
    broken = state.journal.entries[3]
    state.journal.entries[3] = JournalEntry(broken.seq, broken.transaction_id,
                                            broken.account_id, broken.currency,
                                            broken.amount_minor, broken.balance_after_minor + 1)
    assert _checks(operations, state) == {"entries_do_not_sum"}


def test_one_commit_pushed_twice_with_different_data_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    changed = copy.deepcopy(state.events[0])
    changed["balance"] = "1.00"
    state.events.append(changed)
    assert _checks(operations, state) == {"websocket_conflict"}


def test_an_event_history_does_not_hold_is_reported() -> None:
    operations = _operations()
    state = _model(operations)
    for event in state.events:
        event["transaction"]["createdAt"] = "2026-12-01T12:00:01.000000Z"
    assert _checks(operations, state) == {"websocket_mismatch"}


@pytest.mark.parametrize("status", [400, 401, 403, 409])
def test_an_answer_a_correct_wallet_never_gives_is_reported(status: int) -> None:
    operations = _operations()
    state = _model(operations)
    operations[4].answers.append(Answer(status))
    assert _checks(operations, state) == {"unexpected_answer"}


def test_a_summary_counts_every_violation_and_keeps_the_first_of_each() -> None:
    operations = _operations()
    state = _model(operations)
    for op in operations:
        op.outcome = UNKNOWN
    counts, kept = summarise(check(operations, state))
    assert counts["unresolved"] == len(operations)
    assert {item["check"] for item in kept} == set(counts)
