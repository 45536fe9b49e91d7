"""entrypoints/api.py: the one place an error code becomes a status, and nothing escapes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from wallet import bootstrap
from wallet.domain import errors
from wallet.domain.access import Principal
from wallet.domain.commands import Deposit, LedgerCommand, Payout, request_hash
from wallet.domain.errors import WalletError
from wallet.entrypoints import api
from wallet.entrypoints.request import Request
from wallet.service_layer.wallet import WalletService

from ..fakes import ALICE, OPERATOR, Stack, bearer, container, stack

ERRORS = [errors.ValidationError, errors.Unauthorized, errors.Forbidden, errors.NotFound,
          errors.MethodNotAllowed, errors.IdempotencyKeyReused, errors.PayloadTooLarge,
          errors.UnsupportedMediaType, errors.InsufficientFunds, errors.BalanceLimitExceeded,
          errors.HoldNotActive, errors.AmountExceedsHold, errors.Unavailable]


@pytest.mark.parametrize(
    ("error", "status"),
    list(zip(ERRORS, [400, 401, 403, 404, 405, 409, 413, 415, 422, 422, 409, 422, 503],
             strict=True)),
)
def test_each_error_maps_to_the_documented_status(error: type[WalletError], status: int) -> None:
    response = api.error_response(error("what went wrong"))
    assert response.status == status
    assert response.body == {"error": {"code": error.code, "message": "what went wrong"}}


def test_every_error_class_has_a_status() -> None:
    assert {error.code for error in WalletError.__subclasses__()} == set(api.STATUS_BY_CODE)


def test_an_error_with_a_field_names_it() -> None:
    response = api.error_response(errors.ValidationError("bad amount", "amount"))
    assert response.body["error"] == {"code": "validation_error", "message": "bad amount",
                                      "field": "amount"}


@pytest.fixture
def installed() -> Iterator[Callable[[Stack], Stack]]:
    """Installs stand-in containers for bootstrap.current(), and removes them afterwards."""

    def install(wired: Stack) -> Stack:
        bootstrap.install(container(wallet=wired.service))
        return wired

    yield install
    bootstrap.install(None)


@pytest.fixture
def wallet(installed: Callable[[Stack], Stack]) -> Stack:
    return installed(stack())


def at_once(answer: Callable[[Request], api.Response]) -> api.Action:
    """An action that answers without awaiting anything."""
    async def action(request: Request, wallet: WalletService) -> api.Response:
        return answer(request)
    return action


def event(**fields: Any) -> dict[str, Any]:
    """An authenticated request: handle() refuses anything else before the action runs."""
    return {"routeKey": "POST /wallet/deposit", "requestContext": {"requestId": "req-1"},
            "headers": bearer(ALICE), **fields}


@pytest.mark.usefixtures("wallet")
def test_handle_authenticates_before_the_action_runs() -> None:
    ran = []
    result = api.run({**event(), "headers": {}},
                     at_once(lambda request: ran.append(1) or api.ok({})))
    assert result["statusCode"] == 401 and ran == []


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


@pytest.mark.usefixtures("wallet")
def test_handle_runs_the_action_and_renders_its_response() -> None:
    result = api.run(event(), at_once(lambda request: api.ok({"seen": request.event["routeKey"]})))
    assert result["statusCode"] == 200
    assert body_of(result) == {"seen": "POST /wallet/deposit"}
    assert result["headers"] == {"Content-Type": "application/json", "X-Request-Id": "req-1",
                                 "Cache-Control": "no-store"}


def test_handle_gives_the_action_the_installed_wallet_service(wallet: Stack) -> None:
    seen: list[WalletService] = []

    async def action(request: Request, service: WalletService) -> api.Response:
        seen.append(service)
        return api.ok({})

    api.run(event(), action)
    assert seen == [wallet.service]


@pytest.mark.usefixtures("wallet")
def test_handle_makes_up_a_request_id_when_there_is_none() -> None:
    result = api.run({}, at_once(lambda request: api.ok({})))
    assert uuid.UUID(result["headers"]["X-Request-Id"])


@pytest.mark.usefixtures("wallet")
def test_handle_maps_an_operating_error() -> None:
    async def forbidden(request: Request, wallet: WalletService) -> api.Response:
        raise errors.Forbidden("not yours", "userId")

    result = api.run(event(), forbidden)
    assert result["statusCode"] == 403
    assert body_of(result) == {"error": {"code": "forbidden", "message": "not yours",
                                         "field": "userId"}}
    assert result["headers"]["X-Request-Id"] == "req-1"


@pytest.mark.usefixtures("wallet")
def test_handle_turns_an_unexpected_exception_into_a_500() -> None:
    async def broken(request: Request, wallet: WalletService) -> api.Response:
        raise RuntimeError("secret internals")

    result = api.run(event(), broken)
    assert result["statusCode"] == 500
    assert body_of(result) == {"error": {"code": "internal", "message": "internal error"}}
    assert "secret internals" not in result["body"]


@pytest.mark.usefixtures("wallet")
def test_handle_maps_a_request_parsing_error() -> None:
    result = api.run(event(body="[]"), at_once(lambda request: api.ok(dict(request.fields))))
    assert result["statusCode"] == 400
    assert body_of(result)["error"]["field"] == "body"


def submit(principal: Principal, command: LedgerCommand, key: str | None = None) -> api.Response:
    headers = {**bearer(principal), **({"Idempotency-Key": key} if key else {})}
    wiring = bootstrap.current()
    request = Request(event(headers=headers), wiring.request_rules)
    return asyncio.run(api.submit(request, wiring.wallet, command))


@pytest.mark.usefixtures("wallet")
def test_submit_answers_201_with_the_transaction() -> None:
    response = submit(ALICE, Deposit("alice", 500, "USD"))
    assert response.status == 201
    assert (response.body["status"], response.body["balanceAfter"]) == ("committed", "5.00")
    assert response.headers == {}


@pytest.mark.usefixtures("wallet")
def test_submit_marks_a_replay() -> None:
    first = submit(ALICE, Deposit("alice", 500, "USD"), "k")
    again = submit(ALICE, Deposit("alice", 500, "USD"), "k")
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers == {"Idempotent-Replayed": "true"}


@pytest.mark.usefixtures("wallet")
def test_submit_answers_422_for_a_ledger_rejection() -> None:
    response = submit(ALICE, Payout("alice", 1, "USD"))
    assert response.status == 422
    assert response.body["error"]["code"] == "insufficient_funds"


def test_submit_answers_202_with_a_location_when_the_ledger_is_late(
    installed: Callable[[Stack], Stack],
) -> None:
    installed(stack(hold=True, wait_for_commit_ms=0))
    response = submit(OPERATOR, Deposit("alice", 500, "USD"))
    assert response.status == 202
    assert response.body == {"id": response.body["id"], "status": "pending"}
    fingerprint = request_hash(Deposit("alice", 500, "USD"))
    assert response.headers == {
        "Location": f"/wallet/transactions/{response.body['id']}?request={fingerprint}"}


@pytest.mark.usefixtures("wallet")
def test_a_lone_surrogate_echoed_back_still_renders() -> None:
    """orjson refuses text that is not UTF-8; a caller's JSON can carry such a name."""
    result = api.run(event(), at_once(lambda request: api.ok({"field": "\ud800"})))
    assert result["statusCode"] == 200
    assert body_of(result) == {"field": "\ud800"}
