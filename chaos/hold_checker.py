"""The checker's hold checks: each hold ends once, as its clients were told, and held money is
never spent.

A hold posts nothing until it is captured: the wallet's balance keeps the
money and counts it as `held`, and payouts, transfers out and new holds draw
on `available = balance - held`. The money checks (`checker`) count a
capture as money leaving, like a payout; these check the holds themselves:

- `hold_missing` / `hold_mismatch` / `unexpected_hold`: each acknowledged
  hold is listed, with the wallet, currency, amount, expiry and labels sent, and no
  hold is listed that no acknowledged request placed;
- `hold_ended_twice`: no hold was acknowledged as ended twice (two captures,
  a capture and a void, two voids);
- `hold_state_mismatch`: each hold ends in the one state its clients were
  told: captured with the amount its acknowledged capture took, voided after
  an acknowledged void, never captured or voided by no acknowledged request,
  expired only once past its expiry, and still held with nothing captured;
- `wrong_refusal`: a capture or a void refused as `hold_not_active` although
  the hold was active all along (still held, and not yet due, at the end),
  or a capture refused as `amount_exceeds_hold` that did not exceed it;
- `held_mismatch`: each wallet's `held` is the sum of its active holds, its
  `available` is `balance - held`, and the status filter lists exactly the
  holds whose status is held;
- `negative_available`: no available balance is below zero, at the end nor
  in any event: nothing acknowledged drew on held money;
- `expiry_overdue`: no hold is still held long after its expiry;
- `websocket_conflict` / `websocket_mismatch`: one hold change delivered
  twice with different data, or an event whose hold or amounts disagree with
  the books;
- `audit_problem`: `GET /wallet/audit/verify` reported a problem.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos.records import (
    ACKNOWLEDGED,
    AMOUNT_EXCEEDS_HOLD,
    HOLD_EXPIRY_DEFAULT_S,
    HOLD_NOT_ACTIVE,
    REJECTED,
    TIMESTAMP_FORMAT,
    FinalState,
    Operation,
    Violation,
    minor,
)

# The local runtime sweeps every second, AWS every minute: a hold still held this long after
# its expiry was forgotten, not merely not reached yet.
EXPIRY_LATE_S_MAX = 120
ENDED_BY_REQUEST = {"capture": "captured", "void": "voided"}
# What a hold's later changes may alter: everything else an event showed stays as it was.
CHANGING = ("status", "capturedAmount", "updatedAt")


def check_holds(operations: list[Operation], state: FinalState) -> Iterator[Violation]:
    placed = {op.transaction_id: op for op in operations
              if op.kind == "hold" and op.outcome == ACKNOWLEDGED and op.transaction_id}
    ended: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        if op.kind in ENDED_BY_REQUEST and op.outcome == ACKNOWLEDGED and op.hold_id:
            ended[op.hold_id].append(op)
    yield from listed(placed, state)
    yield from endings(ended, state)
    yield from refusals(operations, state)
    yield from held_sums(state)
    yield from overdue(state)
    yield from hold_events(state)
    yield from audit(state)


def listed(placed: Mapping[str, Operation], state: FinalState) -> Iterator[Violation]:
    for hold_id, op in sorted(placed.items()):
        hold = state.holds.get(hold_id)
        if hold is None:
            yield Violation("hold_missing", f"{op.key}: hold {hold_id} is not listed")
            continue
        sent = (op.wallet, op.currency, op.amount_minor,
                timedelta(seconds=op.expires_in_s or HOLD_EXPIRY_DEFAULT_S), op.reference,
                op.metadata)
        held = (hold["userId"], hold["currency"], _minor(hold, "amount", state),
                _at(hold["expiresAt"]) - _at(hold["createdAt"]), hold.get("reference"),
                hold.get("metadata"))
        if sent != held:
            yield Violation("hold_mismatch", f"{op.key}: sent {sent}, the hold is {held}")
    for hold_id in sorted(set(state.holds) - set(placed)):
        yield Violation("unexpected_hold", f"hold {hold_id} was placed by no acknowledged "
                        f"request: {state.holds[hold_id]}")


def endings(ended: Mapping[str, list[Operation]], state: FinalState) -> Iterator[Violation]:
    for hold_id, hold in sorted(state.holds.items()):
        enders = ended.get(hold_id, [])
        if len(enders) > 1:
            yield Violation("hold_ended_twice", f"hold {hold_id} acknowledged as ended by "
                            f"{[(op.kind, op.key) for op in enders]}")
        yield from _ended_as_told(hold, enders[0] if enders else None, state)


def _ended_as_told(hold: dict[str, Any], ender: Operation | None,
                   state: FinalState) -> Iterator[Violation]:
    status, captured = hold["status"], _minor(hold, "capturedAmount", state)
    if ender is not None:
        told = (ENDED_BY_REQUEST[ender.kind], ender.amount_minor if ender.kind == "capture"
                else 0)
        if (status, captured) != told:
            yield Violation("hold_state_mismatch", f"{ender.key} was told {told}, hold "
                            f"{hold['id']} is {(status, captured)}")
    elif status in ENDED_BY_REQUEST.values():
        yield Violation("hold_state_mismatch", f"hold {hold['id']} is {status}, but no "
                        f"request that ended it was acknowledged")
    elif captured != 0:
        yield Violation("hold_state_mismatch", f"hold {hold['id']} is {status} with "
                        f"{captured} captured")
    elif status == "expired" and _at(hold["updatedAt"]) < _at(hold["expiresAt"]):
        yield Violation("hold_state_mismatch", f"hold {hold['id']} expired before its "
                        f"expiry: {hold}")


def refusals(operations: list[Operation], state: FinalState) -> Iterator[Violation]:
    for op in operations:
        hold = state.holds.get(op.hold_id or "")
        if op.kind not in ENDED_BY_REQUEST or op.outcome != REJECTED or hold is None:
            continue
        codes = {answer.code for answer in op.answers if answer.status in op.refusing}
        if HOLD_NOT_ACTIVE in codes and _active_throughout(hold, state):
            yield Violation("wrong_refusal", f"{op.key} ({op.kind}) was refused as "
                            f"{HOLD_NOT_ACTIVE}, and hold {hold['id']} is still active")
        if AMOUNT_EXCEEDS_HOLD in codes and op.amount_minor <= _minor(hold, "amount", state):
            yield Violation("wrong_refusal", f"{op.key}: {op.amount_minor} was refused as "
                            f"{AMOUNT_EXCEEDS_HOLD} on hold {hold['id']} of {hold['amount']}")


def _active_throughout(hold: dict[str, Any], state: FinalState) -> bool:
    """Still held and not yet due at the end: active at every instant of the run."""
    return state.read_at is not None and hold["status"] == "held" and \
        _at(hold["expiresAt"]) > _at(state.read_at)


def held_sums(state: FinalState) -> Iterator[Violation]:
    active: Counter[tuple[str, str]] = Counter()
    for wallet, holds in state.active_holds.items():
        for hold in holds:
            active[(wallet, hold["currency"])] += _minor(hold, "amount", state)
        listed_ids = sorted(hold["id"] for hold in holds)
        held_ids = sorted(hold_id for hold_id, hold in state.holds.items()
                          if hold["userId"] == wallet and hold["status"] == "held")
        if listed_ids != held_ids:
            yield Violation("held_mismatch", f"{wallet}: status=held lists {listed_ids}, the "
                            f"holds whose status is held are {held_ids}")
    for key in sorted(set(state.balances) | set(state.held) | set(active)):
        yield from _balance_agrees(key, state, active[key])


def _balance_agrees(key: tuple[str, str], state: FinalState,
                    active_minor: int) -> Iterator[Violation]:
    balance, held = state.balances.get(key, 0), state.held.get(key)
    available = state.available.get(key)
    if held != active_minor:
        yield Violation("held_mismatch", f"{key}: held is {held}, its active holds sum to "
                        f"{active_minor}")
    if available is None or held is None or available != balance - held:
        yield Violation("held_mismatch", f"{key}: available is {available}, with a balance "
                        f"of {balance} and {held} held")
    if available is not None and available < 0:
        yield Violation("negative_available", f"{key}: {available} available")


def overdue(state: FinalState) -> Iterator[Violation]:
    if state.read_at is None:
        return
    late = _at(state.read_at) - timedelta(seconds=EXPIRY_LATE_S_MAX)
    for hold_id, hold in sorted(state.holds.items()):
        if hold["status"] == "held" and _at(hold["expiresAt"]) < late:
            yield Violation("expiry_overdue", f"hold {hold_id} is still held, due since "
                            f"{hold['expiresAt']} (read at {state.read_at})")


def hold_events(state: FinalState) -> Iterator[Violation]:
    delivered: dict[tuple[str, str], dict[str, Any]] = {}
    for event in state.events:
        yield from _event_amounts(event, state)
        if event["event"] == "holdUpdated":
            place = (event["hold"]["id"], event["hold"]["status"])
            first = delivered.setdefault(place, event)
            if first != event:
                yield Violation("websocket_conflict", f"{place} delivered as {first} and as "
                                f"{event}")
    for place, event in sorted(delivered.items()):
        final = state.holds.get(place[0])
        if final is None or not _as_final(event["hold"], final) or \
                (event["userId"], event["currency"]) != (final["userId"], final["currency"]):
            yield Violation("websocket_mismatch", f"{event} against the hold {final}")


def _event_amounts(event: dict[str, Any], state: FinalState) -> Iterator[Violation]:
    """Every balanceUpdated and holdUpdated says what was available then: never below zero."""
    if "available" not in event or "held" not in event:
        yield Violation("websocket_mismatch", f"{event} carries no available or held")
        return
    currency = event["currency"]
    balance, available, held = (minor(event[name], currency, state.exponents)
                                for name in ("balance", "available", "held"))
    if available != balance - held or held < 0:
        yield Violation("websocket_mismatch", f"{event}: available is not balance - held")
    if available < 0:
        yield Violation("negative_available", f"event {event}")


def _as_final(seen: dict[str, Any], final: dict[str, Any]) -> bool:
    """An ended hold never changes again; an active one changes only as it ends."""
    if seen["status"] != "held":
        return seen == final
    return _unchanging(seen) == _unchanging(final)


def _unchanging(hold: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in hold.items() if name not in CHANGING}


def audit(state: FinalState) -> Iterator[Violation]:
    if state.audit is None:
        return  # not read: a fabricated run without one
    for problem in state.audit.get("problems", [{"message": "no problems list"}]):
        yield Violation("audit_problem", f"{problem}")


def _minor(hold: dict[str, Any], name: str, state: FinalState) -> int:
    return minor(hold[name], hold["currency"], state.exponents)


def _at(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
