"""The chaos checker fails: a fabricated run with one known violation of each kind is caught.

A small model wallet (`model.py`) builds the final state a correct wallet
would leave for a list of operations (balances, histories, journal,
websocket events); each test then breaks one thing the way a buggy wallet
would and expects that check, and only a check of that kind, to report it.
The hold checks have tests of their own (`test_hold_checker.py`).
"""

import copy

import pytest

from chaos.checker import check, summarise
from chaos.records import REJECTED, UNKNOWN, Answer, FinalState, JournalEntry, Operation

from .model import acknowledged, model


def _operations() -> list[Operation]:
    refused = Operation("k5", "payout", "bob", "USD", 99_999, outcome=REJECTED)
    refused.answers.append(Answer(422))
    late = acknowledged("k6", "deposit", "bob", 7, "JPY")
    late.answers = [Answer(0), Answer(202, "tx-k6"), Answer(201, "tx-k6", replayed=True)]
    return [acknowledged("k1", "deposit", "alice", 10_000),
            acknowledged("k2", "deposit", "bob", 500, "JPY"),
            acknowledged("k3", "transfer", "alice", 2_550, to="bob"),
            acknowledged("k4", "payout", "alice", 1_000), refused, late]


def _model(operations: list[Operation]) -> FinalState:
    return model(operations)


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
    changed.update(balance="1.00", available="1.00", held="0.00")
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
