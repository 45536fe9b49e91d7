"""functions/*/app.py: each handler, from a Lambda event to its response, over fakes.

The handlers are loaded by file path, as the local runtime loads them, and
reach the service layer through a stand-in container installed in bootstrap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wallet import bootstrap
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.access import Principal
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit, Envelope, request_hash
from wallet.entrypoints.kafka_event import build_event
from wallet.service_layer.ports import LogRecord
from wallet.service_layer.relay import Relay
from wallet_runtime.functions import Handler, load_handlers

from .fakes import ALICE, BOB, OPERATOR, Stack, bearer, container, stack

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


@pytest.fixture(scope="module")
def handlers() -> dict[str, Handler]:
    return load_handlers(FUNCTIONS)


@pytest.fixture
def wallet() -> Iterator[Stack]:
    wired = stack()
    tokens = container().tokens
    bootstrap.install(container(wallet=wired.service, consumer=wired.consumer,
                                relay=Relay(MemoryConnections(), tokens)))
    yield wired
    bootstrap.install(None)


Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def call(handlers: dict[str, Handler], wallet: Stack) -> Call:
    def invoke(name: str, principal: Principal | None, body: Any = None,
               path: dict[str, str] | None = None, query: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
        event = {
            "headers": {**(bearer(principal) if principal else {}), **(headers or {})},
            "body": body if body is None or isinstance(body, str) else json.dumps(body),
            "pathParameters": path, "queryStringParameters": query,
        }
        result = handlers[name](event, None)
        return result["statusCode"], json.loads(result["body"])

    return invoke


def test_a_deposit_answers_201_with_the_transaction(call: Call) -> None:
    status, body = call("deposit", ALICE, '{"userId": "alice", "amount": 120.25}')
    assert status == 201
    assert (body["type"], body["amount"], body["balanceAfter"], body["userId"]) == (
        "deposit", "120.25", "120.25", "alice")


def test_a_form_deposit_is_accepted(call: Call) -> None:
    status, body = call("deposit", ALICE, "userId=alice&amount=3&currency=jpy",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body["amount"], body["currency"]) == (201, "3", "JPY")


def test_a_payout_larger_than_the_balance_is_422(call: Call) -> None:
    status, body = call("payout", ALICE, {"userId": "alice", "amount": "1"})
    assert (status, body["error"]["code"]) == (422, "insufficient_funds")


def test_a_transfer_moves_money_and_hides_the_other_balance(call: Call) -> None:
    call("deposit", OPERATOR, {"userId": "alice", "amount": "100"})
    status, body = call("transfer", ALICE, {"fromUserId": "alice", "toUserId": "bob",
                                            "amount": "12.50"})
    assert status == 201
    assert (body["fromBalanceAfter"], "toBalanceAfter" in body) == ("87.50", False)


def test_a_transfer_to_oneself_is_a_validation_error(call: Call) -> None:
    status, body = call("transfer", ALICE, {"fromUserId": "alice", "toUserId": "alice",
                                            "amount": "1"})
    assert (status, body["error"]["field"]) == (400, "toUserId")


def test_a_transfer_out_of_another_wallet_is_forbidden(call: Call, wallet: Stack) -> None:
    status, _ = call("transfer", OPERATOR, {"fromUserId": "alice", "toUserId": "bob",
                                            "amount": "1"})
    assert status == 403
    assert wallet.log.appended == []


def test_a_write_without_a_token_is_401(call: Call) -> None:
    status, body = call("deposit", None, {"userId": "alice", "amount": "1"})
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_the_balance_lists_every_currency(call: Call) -> None:
    call("deposit", ALICE, {"userId": "alice", "amount": "1.5"})
    call("deposit", ALICE, {"userId": "alice", "amount": "7", "currency": "JPY"})
    status, body = call("balance", ALICE, path={"userId": "alice"}, query={"currency": "jpy"})
    assert status == 200
    assert body == {"userId": "alice", "currency": "JPY", "balance": "7", "available": "7",
                    "held": "0", "balances": {"JPY": "7", "USD": "1.50"},
                    "availableBalances": {"JPY": "7", "USD": "1.50"},
                    "heldBalances": {"JPY": "0", "USD": "0.00"}}


def test_another_users_balance_is_forbidden(call: Call) -> None:
    status, _ = call("balance", BOB, path={"userId": "alice"})
    assert status == 403


def test_history_pages_through_a_cursor(call: Call) -> None:
    for amount in ("1", "2", "3"):
        call("deposit", ALICE, {"userId": "alice", "amount": amount})
    status, first = call("history", ALICE, path={"userId": "alice"}, query={"limit": "2"})
    assert status == 200
    assert [item["amount"] for item in first["items"]] == ["3.00", "2.00"]
    _, second = call("history", ALICE, path={"userId": "alice"},
                     query={"limit": "2", "cursor": first["nextCursor"]})
    assert [item["amount"] for item in second["items"]] == ["1.00"]
    assert second["nextCursor"] is None


def test_a_transaction_is_read_back_by_its_id(call: Call) -> None:
    _, deposit = call("deposit", ALICE, {"userId": "alice", "amount": "1"})
    status, body = call("transaction", ALICE, path={"id": deposit["id"]})
    assert (status, body) == (200, deposit)


@pytest.mark.parametrize("reader", [BOB, ALICE])
def test_an_unreadable_transaction_is_404(call: Call, reader: Principal) -> None:
    _, deposit = call("deposit", OPERATOR, {"userId": "carol", "amount": "1"})
    status, body = call("transaction", reader, path={"id": deposit["id"]})
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_the_consumer_applies_a_kafka_batch(handlers: dict[str, Handler], wallet: Stack) -> None:
    command = Deposit("alice", 5, "USD")
    value = encode_envelope(Envelope("c-1", request_hash(command), command))
    event = build_event([LogRecord(0, 0, value), LogRecord(0, 1, value)])
    assert handlers["ledger_consumer"](event, None) == {"applied": 1, "batchItemFailures": []}
    assert wallet.store.balance_rows[("alice", "USD")] == 5


@pytest.mark.usefixtures("wallet")
def test_the_relay_answers_a_ping(handlers: dict[str, Handler]) -> None:
    event = {"requestContext": {"routeKey": "$default", "connectionId": "c"},
             "body": '{"action": "ping"}'}
    assert json.loads(handlers["ws_relay"](event, None)["body"]) == {"event": "pong"}


# --- issue 12: holds, labels, balances as of an instant, verification --------------------------


def place(call: Call, amount: str = "4", **extra: Any) -> tuple[int, Any]:
    return call("hold_place", ALICE, {"userId": "alice", "amount": amount, **extra})


@pytest.fixture
def funded(call: Call) -> Call:
    call("deposit", OPERATOR, {"userId": "alice", "amount": "10"})
    return call


def test_a_placed_hold_answers_201_with_the_hold(funded: Call) -> None:
    status, hold = place(funded, reference="order-7", metadata={"shop": "north"},
                         expiresInSeconds=60)
    assert status == 201
    assert {k: hold[k] for k in ("userId", "amount", "currency", "status", "capturedAmount",
                                 "reference", "metadata")} == {
        "userId": "alice", "amount": "4.00", "currency": "USD", "status": "held",
        "capturedAmount": "0.00", "reference": "order-7", "metadata": {"shop": "north"}}
    _, balance = funded("balance", ALICE, path={"userId": "alice"})
    assert (balance["balance"], balance["available"], balance["held"]) == (
        "10.00", "6.00", "4.00")


def test_a_hold_larger_than_what_is_available_is_422(funded: Call) -> None:
    place(funded, "6")
    status, body = place(funded, "4.01")
    assert (status, body["error"]["code"]) == (422, "insufficient_funds")


def test_a_hold_on_another_users_wallet_is_403(funded: Call) -> None:
    status, _ = funded("hold_place", BOB, {"userId": "alice", "amount": "1"})
    assert status == 403


def test_a_partial_capture_answers_201_with_the_hold_and_its_transaction(funded: Call) -> None:
    _, hold = place(funded)
    status, body = funded("hold_capture", ALICE, {"amount": "1.50"}, path={"id": hold["id"]})
    assert status == 201
    assert (body["hold"]["status"], body["hold"]["capturedAmount"]) == ("captured", "1.50")
    transaction = body["transaction"]
    assert (transaction["type"], transaction["amount"], transaction["holdId"],
            transaction["balanceAfter"]) == ("capture", "1.50", hold["id"], "8.50")
    _, balance = funded("balance", ALICE, path={"userId": "alice"})
    assert (balance["balance"], balance["available"]) == ("8.50", "8.50")


def test_a_void_answers_200_and_a_second_void_or_a_capture_409(funded: Call) -> None:
    _, hold = place(funded)
    status, voided = funded("hold_void", ALICE, path={"id": hold["id"]})
    assert (status, voided["status"]) == (200, "voided")
    for name in ("hold_void", "hold_capture"):
        status, body = funded(name, ALICE, path={"id": hold["id"]})
        assert (status, body["error"]["code"]) == (409, "hold_not_active")


def test_a_capture_above_the_hold_is_422_and_in_another_currency_400(funded: Call) -> None:
    _, hold = place(funded)
    status, body = funded("hold_capture", ALICE, {"amount": "4.01"}, path={"id": hold["id"]})
    assert (status, body["error"]["code"]) == (422, "amount_exceeds_hold")
    status, body = funded("hold_capture", ALICE, {"currency": "EUR"}, path={"id": hold["id"]})
    assert (status, body["error"]["field"]) == (400, "currency")


@pytest.mark.parametrize("name", ["hold_capture", "hold_void", "holds"])
def test_another_users_hold_or_an_unknown_one_is_404(funded: Call, name: str) -> None:
    _, hold = place(funded)
    for caller, hold_id in ((BOB, hold["id"]), (ALICE, "5f0e0d0c-0000-4000-8000-000000000000"),
                            (ALICE, "nope")):
        status, body = funded(name, caller, path={"id": hold_id})
        assert (status, body["error"]["code"]) == (404, "not_found")
    _, read = funded("holds", ALICE, path={"id": hold["id"]})
    assert read["status"] == "held"


def test_a_hold_commands_transaction_answers_what_its_write_answered(funded: Call) -> None:
    _, hold = place(funded)
    _, captured = funded("hold_capture", OPERATOR, path={"id": hold["id"]})
    assert funded("transaction", ALICE, path={"id": hold["id"]})[1]["id"] == hold["id"]
    status, read = funded("transaction", ALICE, path={"id": captured["transaction"]["id"]})
    assert (status, read) == (200, captured)


def test_the_holds_list_pages_newest_first(funded: Call) -> None:
    ids = [place(funded, amount)[1]["id"] for amount in ("1", "2", "3")]
    _, first = funded("holds", ALICE, query={"limit": "2"})
    assert [h["id"] for h in first["items"]] == ids[:0:-1]
    _, second = funded("holds", ALICE, query={"limit": "2", "cursor": first["nextCursor"]})
    assert ([h["id"] for h in second["items"]], second["nextCursor"]) == (ids[:1], None)
    assert funded("holds", BOB, query={"userId": "alice"})[0] == 403
    assert funded("holds", BOB)[1]["items"] == []


def test_writes_carry_their_labels_and_refuse_a_number_in_metadata(call: Call) -> None:
    status, deposit = call("deposit", ALICE, {"userId": "alice", "amount": "1",
                                              "reference": "r-1", "metadata": {"k": "v"}})
    assert (status, deposit["reference"], deposit["metadata"]) == (201, "r-1", {"k": "v"})
    status, body = call("deposit", ALICE, '{"userId": "alice", "amount": 1, "metadata": {"k": 1}}')
    assert (status, body["error"]["field"]) == (400, "metadata.k")


def test_a_balance_as_of_a_future_instant_is_400(call: Call) -> None:
    status, body = call("balance", ALICE, path={"userId": "alice"},
                        query={"at": "2999-01-01T00:00:00Z"})
    assert (status, body["error"]["field"]) == (400, "at")
