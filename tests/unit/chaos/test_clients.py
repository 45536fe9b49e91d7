"""The chaos clients read hold answers as the contract writes them, and the mix holds what the
bank test needs: money operations dominate, and holds are placed, captured, voided and raced.

A fake gateway (httpx.MockTransport) answers each request as a correct
wallet would, so each test sees what the client records of one answer.
"""

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chaos import clients
from chaos.clients import Callers, Client, Counts
from chaos.operations import HoldPool, body_of, path_of, random_operations
from chaos.records import ACKNOWLEDGED, REJECTED, UNKNOWN, Operation

EXPONENTS = {"USD": 2, "JPY": 0}
HOLD = {"id": "h-1", "userId": "alice", "amount": "30.00", "currency": "USD", "status": "held",
        "capturedAmount": "0.00", "expiresAt": "2026-12-01T12:00:05.000000Z",
        "createdAt": "2026-12-01T12:00:00.000000Z", "updatedAt": "2026-12-01T12:00:00.000000Z"}
CAPTURE = {"id": "tx-1", "type": "capture", "status": "committed", "amount": "12.00",
           "currency": "USD", "userId": "alice", "balanceAfter": "88.00", "holdId": "h-1",
           "createdAt": "2026-12-01T12:00:01.000000Z"}
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "POLL_INTERVAL_S", 0)
    monkeypatch.setattr(clients, "BACKOFF_S_MIN", 0)


def _perform(op: Operation, handler: Handler, pool: HoldPool | None = None,
             resolve: bool = False) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
            callers = Callers({"Authorization": "Bearer op"}, {"alice": {"Authorization":
                                                                         "Bearer alice"}})
            client = Client(http, ["http://gw"], callers, EXPONENTS, random.Random(1), Counts(),
                            pool)
            await (client.resolve(op) if resolve else client.perform(op))
    asyncio.run(go())
    return seen


def _capture(amount: int = 1_200, whole: bool = False) -> Operation:
    return Operation("c1", "capture", "alice", "USD", amount, hold_id="h-1", whole=whole)


def test_a_placed_hold_is_acknowledged_and_joins_the_pool() -> None:
    op, pool = Operation("h1", "hold", "alice", "USD", 3_000, expires_in_s=5), HoldPool()
    seen = _perform(op, lambda _: httpx.Response(201, json=HOLD), pool)
    assert (op.outcome, op.transaction_id, op.hold_id) == (ACKNOWLEDGED, "h-1", "h-1")
    assert seen[0].url.path == "/wallet/holds"
    assert seen[0].headers["authorization"] == "Bearer alice"
    assert pool.take(random.Random(0)) is op


def test_a_capture_is_acknowledged_with_its_transaction() -> None:
    op = _capture()
    seen = _perform(op, lambda _: httpx.Response(201, json={"hold": HOLD, "transaction":
                                                           CAPTURE}))
    assert (op.outcome, op.transaction_id) == (ACKNOWLEDGED, "tx-1")
    assert seen[0].url.path == "/wallet/holds/h-1/capture"
    assert seen[0].content == b'{"amount":"12.00","currency":"USD"}'


def test_a_void_is_acknowledged_by_200_and_names_no_transaction() -> None:
    op = Operation("v1", "void", "alice", "USD", 3_000, hold_id="h-1")
    seen = _perform(op, lambda _: httpx.Response(200, json={**HOLD, "status": "voided"}))
    assert (op.outcome, op.transaction_id) == (ACKNOWLEDGED, None)
    assert (seen[0].url.path, seen[0].content) == ("/wallet/holds/h-1/void", b"")


@pytest.mark.parametrize(("status", "code"), [(409, "hold_not_active"),
                                              (422, "amount_exceeds_hold")])
def test_a_refused_capture_is_settled_at_once_with_its_code(status: int, code: str) -> None:
    op = _capture()
    seen = _perform(op, lambda _: httpx.Response(status, json={"error": {"code": code,
                                                                        "message": "no"}}))
    assert (op.outcome, len(seen), op.answers[0].code) == (REJECTED, 1, code)


def test_a_capture_lost_in_a_timeout_is_retried_under_its_key() -> None:
    answers = iter([httpx.Response(503), httpx.Response(
        201, json={"hold": HOLD, "transaction": CAPTURE},
        headers={"Idempotent-Replayed": "true"})])
    op = _capture(whole=True)
    seen = _perform(op, lambda _: next(answers))
    assert [r.headers["idempotency-key"] for r in seen] == ["c1", "c1"]
    assert seen[0].content == b"{}"  # a whole capture sends no amount
    assert op.outcome == ACKNOWLEDGED and op.answers[-1].replayed


def test_a_pending_void_is_settled_by_its_location() -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"id": "cmd-v1", "status": "pending"},
                                  headers={"Location": "/wallet/transactions/cmd-v1?request=x"})
        return httpx.Response(200, json={**HOLD, "status": "voided"})
    op = Operation("v1", "void", "alice", "USD", 3_000, hold_id="h-1")
    seen = _perform(op, gateway)
    assert seen[1].url.path == "/wallet/transactions/cmd-v1"
    assert (op.outcome, op.command_id, op.transaction_id) == (ACKNOWLEDGED, "cmd-v1", None)


def test_an_unknown_capture_looked_up_as_rejected_is_refused_with_409() -> None:
    op = _capture()
    op.command_id = "tx-1"
    _perform(op, lambda _: httpx.Response(200, json={"id": "tx-1", "status": "rejected", "error":
                                                     {"code": "hold_not_active",
                                                      "message": "ended"}}), resolve=True)
    assert (op.outcome, op.answers[-1].status, op.resolved_after_run) == (REJECTED, 409, True)


def test_a_lookup_still_pending_leaves_the_outcome_unknown_for_a_replay() -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"id": "h-1", "status": "pending"})
        return httpx.Response(201, json=HOLD, headers={"Idempotent-Replayed": "true"})
    op = Operation("h1", "hold", "alice", "USD", 3_000, command_id="h-1")
    seen = _perform(op, gateway, resolve=True)
    assert [r.method for r in seen] == ["GET", "POST"]
    assert op.outcome == ACKNOWLEDGED


def _mix(draws: int) -> list[Operation]:
    rng, pool, made = random.Random(7), HoldPool(), []
    for number in range(draws):
        batch = random_operations(rng, f"k{number}", ["alice", "bob", "carol"], ["USD", "JPY"],
                                  pool)
        for op in batch:
            if op.kind == "hold":  # as if acknowledged
                op.hold_id = f"hold-{op.key}"
                pool.add(op)
        made += batch
    return made


def test_money_operations_dominate_the_mix() -> None:
    kinds = Counter(op.kind for op in _mix(5_000))
    money = kinds["deposit"] + kinds["payout"] + kinds["transfer"]
    assert money > 2 * (kinds["hold"] + kinds["capture"] + kinds["void"])
    assert min(kinds["hold"], kinds["capture"], kinds["void"]) > 100


def test_the_mix_holds_short_expiries_partial_and_too_large_captures_and_races() -> None:
    made = _mix(5_000)
    holds = {op.hold_id: op for op in made if op.kind == "hold"}
    captures = [op for op in made if op.kind == "capture"]
    assert any(op.expires_in_s is not None and op.expires_in_s <= 10 for op in holds.values())
    assert any(op.expires_in_s is None for op in holds.values())
    amounts = Counter("whole" if op.whole else "partial" if op.amount_minor <
                      holds[op.hold_id].amount_minor else "over" if op.amount_minor >
                      holds[op.hold_id].amount_minor else "full" for op in captures)
    assert min(amounts.values()) > 10 and len(amounts) == 4
    raced = [op for op in made if op.key.endswith("-race")]
    assert raced and all(any(other.hold_id == op.hold_id and other.key == op.key[:-5]
                             for other in made) for op in raced)


def test_labelled_writes_send_their_labels_and_captures_expect_their_holds() -> None:
    made = _mix(2_000)
    labelled = [op for op in made if op.reference is not None]
    assert {op.kind for op in labelled} >= {"deposit", "payout", "transfer", "hold",
                                            "capture"}
    for op in labelled:
        body = body_of(op, EXPONENTS)
        assert body is not None
        if op.kind == "capture":
            hold = next(h for h in made if h.kind == "hold" and h.hold_id == op.hold_id)
            assert (op.reference, op.metadata) == (hold.reference, hold.metadata)
            assert "reference" not in body and "metadata" not in body
        else:
            assert (body["reference"], body["metadata"]) == (op.reference, op.metadata)


def test_a_hold_request_carries_its_expiry_and_endings_name_their_hold() -> None:
    hold = Operation("h1", "hold", "alice", "JPY", 300, expires_in_s=4)
    body: dict[str, Any] | None = body_of(hold, EXPONENTS)
    assert body == {"userId": "alice", "amount": "300", "currency": "JPY",
                    "expiresInSeconds": 4}
    assert path_of(Operation("v", "void", "alice", "JPY", 300, hold_id="h-9")) == \
        "/wallet/holds/h-9/void"
    assert hold.outcome == UNKNOWN
