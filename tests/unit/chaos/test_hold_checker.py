"""The chaos checker's hold checks fail: a fabricated run with holds, and one known
hold-related violation at a time, is caught.

The clean run places five holds and ends them every way a hold ends: one
captured whole, one partly, one voided, one expired, one still held at the
end; a capture that lost its race, a void after the expiry and a capture
larger than its hold were refused, and so was a hold the wallet could not
cover. Each test breaks one thing the way a buggy wallet would.
"""

import copy

from chaos.checker import check
from chaos.records import REJECTED, Answer, FinalState, Operation

from .model import READ_AT, acknowledged, model, refused

EXPIRED = ("hold-h2",)


def _operations() -> list[Operation]:
    return [
        acknowledged("k1", "deposit", "alice", 10_000),
        acknowledged("k2", "deposit", "bob", 500, "JPY"),
        acknowledged("k3", "transfer", "alice", 2_550, to="bob"),
        acknowledged("k4", "payout", "alice", 1_000, reference="payout-4",
                     metadata={"batch": "7", "desk": "a.b-c_d"}),
        acknowledged("h1", "hold", "alice", 3_000, reference="order-1",
                     metadata={"shop": "north"}),
        acknowledged("h2", "hold", "alice", 1_000, expires_in_s=5),
        acknowledged("h3", "hold", "bob", 200, "JPY", as_operator=True),
        acknowledged("h4", "hold", "bob", 500),
        acknowledged("h5", "hold", "alice", 2_000, expires_in_s=3600),
        refused("h6", "hold", "bob", 1_000_000),
        acknowledged("c1", "capture", "alice", 3_000, hold="hold-h1", whole=True,
                     reference="order-1", metadata={"shop": "north"}),  # its hold's labels
        refused("c1-lost", "capture", "alice", 3_000, hold="hold-h1", code="hold_not_active"),
        acknowledged("c3", "capture", "bob", 150, "JPY", hold="hold-h3"),
        acknowledged("v4", "void", "bob", 500, hold="hold-h4"),
        refused("v2", "void", "alice", 1_000, hold="hold-h2", code="hold_not_active"),
        refused("c5", "capture", "alice", 2_001, hold="hold-h5", code="amount_exceeds_hold"),
    ]


def _checks(operations: list[Operation], state: FinalState) -> set[str]:
    return {violation.check for violation in check(operations, state)}


def _key(operations: list[Operation], key: str) -> Operation:
    return next(op for op in operations if op.key == key)


def test_a_correct_run_with_holds_has_no_violation() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    assert check(operations, state) == []
    statuses = sorted(hold["status"] for hold in state.holds.values())
    assert statuses == ["captured", "captured", "expired", "held", "voided"]
    assert state.held[("alice", "USD")] == 2_000  # h5 only: the run's held money is real


def test_a_capture_is_money_leaving_for_conservation() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "c3").outcome = REJECTED  # applied, but its client heard a refusal
    assert {"conservation", "hold_state_mismatch"} <= _checks(operations, state)


def test_a_hold_both_captured_and_voided_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    operations.append(acknowledged("v1", "void", "alice", 3_000, hold="hold-h1"))
    assert _checks(operations, state) == {"hold_ended_twice"}


def test_two_acknowledged_captures_of_one_hold_are_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    loser = _key(operations, "c1-lost")
    loser.outcome, loser.transaction_id = "acknowledged", "tx-c1-lost"
    loser.answers = [Answer(201, "tx-c1-lost")]
    assert {"hold_ended_twice", "missing_from_history", "journal_mismatch"} <= \
        _checks(operations, state)


def test_a_captured_hold_missing_from_history_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.histories = {**state.histories, "bob": [
        item for item in state.histories["bob"] if item["type"] != "capture"]}
    assert "missing_from_history" in _checks(operations, state)


def test_a_capture_without_its_hold_id_in_history_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    capture = next(item for item in state.histories["bob"] if item["type"] == "capture")
    del capture["holdId"]
    assert "history_mismatch" in _checks(operations, state)


def test_a_capture_without_its_holds_labels_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    capture = next(item for item in state.histories["alice"] if item["type"] == "capture")
    del capture["reference"]
    assert "history_mismatch" in _checks(operations, state)


def test_a_label_changed_in_history_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    payout = next(item for item in state.histories["alice"] if item["type"] == "payout")
    payout["metadata"] = {"batch": "8", "desk": "a.b-c_d"}
    assert "history_mismatch" in _checks(operations, state)


def test_a_hold_that_lost_its_metadata_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    del state.holds["hold-h1"]["metadata"]
    assert "hold_mismatch" in _checks(operations, state)


def test_an_acknowledged_capture_applied_twice_is_reported() -> None:
    operations = _operations()
    again = acknowledged("c3", "capture", "bob", 150, "JPY", hold="hold-h3")
    again.transaction_id = "tx-c3-again"  # a redelivery applied as a new transaction
    state = model([*operations, again], EXPIRED)
    assert {"unexpected_transaction", "journal_mismatch", "conservation"} <= \
        _checks(operations, state)


def test_a_capture_acknowledged_with_two_transactions_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "c3").answers.append(Answer(201, "tx-other", replayed=True))
    assert _checks(operations, state) == {"key_applied_twice"}


def test_a_void_both_acknowledged_and_refused_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "v4").answers.append(Answer(409, code="hold_not_active", first_hand=False))
    assert _checks(operations, state) == {"key_applied_twice"}


def test_held_that_is_not_the_sum_of_active_holds_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.held = {**state.held, ("alice", "USD"): 1_999}
    state.available = {**state.available, ("alice", "USD"):
                       state.available[("alice", "USD")] + 1}
    assert _checks(operations, state) == {"held_mismatch"}


def test_an_available_balance_that_is_not_balance_minus_held_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.available = {**state.available, ("bob", "USD"): 0}
    assert _checks(operations, state) == {"held_mismatch"}


def test_an_ended_hold_listed_as_active_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.active_holds["bob"].append(copy.deepcopy(state.holds["hold-h4"]))  # voided
    assert "held_mismatch" in _checks(operations, state)


def test_a_payout_that_drew_on_held_money_is_reported() -> None:
    operations = _operations()
    operations.append(acknowledged("k7", "payout", "alice", 2_000))  # 450 available
    state = model(operations, EXPIRED)
    assert _checks(operations, state) == {"negative_available"}
    assert state.balances[("alice", "USD")] >= 0  # the balance alone would not show it


def test_a_hold_placed_on_held_money_is_reported_by_its_event() -> None:
    operations = _operations()
    operations.insert(9, acknowledged("h7", "hold", "alice", 1_000))  # 450 available
    operations.append(acknowledged("v7", "void", "alice", 1_000, hold="hold-h7"))
    state = model(operations, EXPIRED)  # voided since: only the events saw it
    assert _checks(operations, state) == {"negative_available"}


def test_a_hold_captured_while_its_client_was_told_voided_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.holds["hold-h4"].update(status="captured", capturedAmount="5.00")
    assert "hold_state_mismatch" in _checks(operations, state)


def test_a_partial_capture_that_took_another_amount_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.holds["hold-h3"]["capturedAmount"] = "200"
    assert "hold_state_mismatch" in _checks(operations, state)


def test_a_hold_that_expired_before_its_expiry_is_reported() -> None:
    operations = _operations()
    state = model(operations, ("hold-h2", "hold-h5"))
    state.holds["hold-h5"]["updatedAt"] = state.holds["hold-h5"]["createdAt"]
    assert "hold_state_mismatch" in _checks(operations, state)


def test_a_hold_listed_that_nobody_placed_is_reported() -> None:
    operations = _operations()
    placed = acknowledged("h6", "hold", "bob", 100)  # the refused hold, held all the same
    state = model([*operations, placed], EXPIRED)
    assert "unexpected_hold" in _checks(operations, state)


def test_a_hold_of_another_amount_than_sent_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "h5").amount_minor = 2_500
    assert "hold_mismatch" in _checks(operations, state)


def test_a_hold_with_another_expiry_than_sent_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "h5").expires_in_s = 60
    assert _checks(operations, state) == {"hold_mismatch"}


def test_an_acknowledged_hold_that_is_not_listed_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.holds = {hold_id: hold for hold_id, hold in state.holds.items()
                   if hold_id != "hold-h4"}
    assert "hold_missing" in _checks(operations, state)


def test_a_void_refused_while_its_hold_was_active_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    operations.append(refused("v5", "void", "alice", 2_000, hold="hold-h5",
                              code="hold_not_active"))
    assert _checks(operations, state) == {"wrong_refusal"}


def test_a_capture_refused_as_too_large_when_it_was_not_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "c5").amount_minor = 2_000
    assert _checks(operations, state) == {"wrong_refusal"}


def test_a_hold_never_expired_is_reported() -> None:
    operations = _operations()
    state = model(operations)  # h2 is due since 12:00:05, and the books were read at 12:05
    assert _checks(operations, state) == {"expiry_overdue"}


def test_a_hold_due_but_not_yet_swept_is_no_violation() -> None:
    operations = _operations()
    state = model(operations)
    state.read_at = (READ_AT.replace(minute=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert check(operations, state) == []


def test_one_hold_change_pushed_twice_with_different_data_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    first = next(event for event in state.events if event["event"] == "holdUpdated")
    changed = copy.deepcopy(first)
    changed["hold"]["amount"] = "31.00"
    state.events.append(changed)
    assert _checks(operations, state) == {"websocket_conflict"}


def test_a_hold_event_the_books_do_not_hold_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    ended = next(event for event in state.events if event["event"] == "holdUpdated"
                 and event["hold"]["status"] == "voided")
    ended["hold"]["status"] = "captured"
    assert _checks(operations, state) == {"websocket_mismatch"}


def test_an_event_without_available_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    del state.events[3]["available"]  # one delivered once
    assert _checks(operations, state) == {"websocket_mismatch"}


def test_a_problem_the_audit_found_is_reported() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    state.audit = {"accountsChecked": 4, "entriesChecked": 12, "problems": [
        {"code": "chain_broken", "account": "alice", "currency": "USD", "entry": 3,
         "message": "entry 3 does not follow from the one before"}]}
    assert _checks(operations, state) == {"audit_problem"}


def test_a_409_other_than_hold_not_active_is_an_unexpected_answer() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "c1-lost").answers[0] = Answer(409, code="idempotency_key_reused")
    assert _checks(operations, state) == {"unexpected_answer"}


def test_a_void_answered_201_is_an_unexpected_answer() -> None:
    operations = _operations()
    state = model(operations, EXPIRED)
    _key(operations, "v4").answers.append(Answer(201, replayed=True))
    assert "unexpected_answer" in _checks(operations, state)
