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
