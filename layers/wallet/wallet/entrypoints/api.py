"""The HTTP edge shared by every handler: run an action, map its result to a response.

This is the only place where an error code becomes an HTTP status, and the
only place that writes the per-request log line.

An action is a coroutine given the parsed request and the one service every
handler calls, `WalletService`, so a reader follows the data from the event to
the store through typed calls; no handler can reach an adapter. Actions are
one code path for both runtimes: the local runtime
awaits `handle` on its event loop, and a Lambda function's `handler` runs it
with `run` on a loop of its own that outlives the invocation, as the
container does.
"""

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from wallet import bootstrap
from wallet.domain.commands import LedgerCommand
from wallet.domain.errors import REJECTIONS, RateLimited, Unauthorized, WalletError
from wallet.domain.events import CommandRejected, HoldUpdated
from wallet.domain.rate_limits import Allowance
from wallet.entrypoints.request import Request
from wallet.service_layer.throttle import Throttle
from wallet.service_layer.views import outcome_view
from wallet.service_layer.wallet import WalletService

log = logging.getLogger("wallet.http")

STATUS_BY_CODE = {
    "validation_error": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
    "outcome_unknown": 410,
    "method_not_allowed": 405, "idempotency_key_reused": 409, "payload_too_large": 413,
    "unsupported_media_type": 415, "insufficient_funds": 422, "balance_limit_exceeded": 422,
    "hold_not_active": 409, "amount_exceeds_hold": 422, "unprocessable_command": 422,
    "unavailable": 503,
    "too_many_connections": 429, "rate_limited": 429,
    # answered by the HTTP edge itself (runtime/wallet_runtime/edge.py)
    "bad_request": 400, "request_timeout": 408, "headers_too_large": 431,
}

Event = Mapping[str, Any]


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Action = Callable[[Request, WalletService], Awaitable[Response]]
_container = threading.local()  # a Lambda container runs one invocation at a time per thread


def run(event: Event, action: Action) -> dict[str, Any]:
    """A Lambda function's entry: the action, on this container's event loop."""
    loop: asyncio.AbstractEventLoop | None = getattr(_container, "loop", None)
    if loop is None:
        loop = _container.loop = asyncio.new_event_loop()
    return loop.run_until_complete(handle(event, action))


async def handle(event: Event, action: Action) -> dict[str, Any]:
    """Runs one request end to end; nothing escapes as an unhandled exception."""
    started = time.perf_counter()
    context = event.get("requestContext") or {}
    request_id = str(context.get("requestId") or uuid.uuid4())
    try:
        wiring = bootstrap.current()
        request = Request(event, wiring.request_rules)
        # Every route authenticates first, so a stranger learns nothing, and draws on a bucket.
        allowance = await admit(request, wiring.throttle)
        response = with_allowance(await action(request, wiring.wallet), allowance)
    except WalletError as error:
        response = error_response(error)
    except Exception:
        log.exception("unhandled error", extra={"request_id": request_id})
        response = internal_error()
    log.info("request", extra={
        "request_id": request_id, "route": event.get("routeKey"), "status": response.status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3)})
    return to_result(response, request_id)


async def admit(request: Request, throttle: Throttle) -> Allowance | None:
    """Authenticates the caller and takes a token from their bucket; a caller who fails to
    authenticate draws on their address's bucket instead (RateLimited once it is empty)."""
    try:
        principal = request.principal
    except Unauthorized:
        await throttle.admit_stranger(request.source_address)
        raise
    return await throttle.admit(principal)


def error_response(error: WalletError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    response = Response(STATUS_BY_CODE[error.code], {"error": body})
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.allowance.retry_after_s)
        return with_allowance(response, error.allowance)
    return response


def with_allowance(response: Response, allowance: Allowance | None) -> Response:
    """The RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers) of the caller's bucket."""
    if allowance is None:
        return response
    return replace(response, headers={
        **response.headers, "RateLimit-Limit": str(allowance.limit),
        "RateLimit-Remaining": str(allowance.remaining),
        "RateLimit-Reset": str(allowance.reset_s)})


def internal_error() -> Response:
    """A bug's answer: it names nothing, the log line holds the detail."""
    return Response(500, {"error": {"code": "internal", "message": "internal error"}})


def to_result(response: Response, request_id: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id,
               "Cache-Control": "no-store", **response.headers}
    return {"statusCode": response.status, "headers": headers,
            "body": _json(response.body)}


def _json(body: Any) -> str:
    """orjson where it can (bodies hold ints and text, never a float); json where it cannot:
    a lone surrogate, echoed back from a caller's JSON, is not UTF-8."""
    try:
        return orjson.dumps(body).decode()
    except orjson.JSONEncodeError:
        return json.dumps(body, separators=(",", ":"))


def ok(body: Any) -> Response:
    return Response(200, body)


async def submit(request: Request, wallet: WalletService, command: LedgerCommand) -> Response:
    """Hands a command to the ledger and answers with its outcome, or 202 if it is late."""
    principal = request.principal
    submitted = await wallet.submit(principal, command, request.idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if submitted.replayed else {}
    outcome = submitted.outcome
    if outcome is None:
        # The fingerprint binds the Location to this request: another body under the
        # same key shares the id, and must not be reported as this request's outcome.
        location = f"/wallet/transactions/{submitted.command_id}?request={submitted.request_hash}"
        return Response(202, {"id": submitted.command_id, "status": "pending"},
                        {**headers, "Location": location})
    if isinstance(outcome, CommandRejected):
        error = error_response(REJECTIONS[outcome.rejection.code](outcome.rejection.message))
        return Response(error.status, error.body, headers)
    status = hold_status(outcome) if isinstance(outcome, HoldUpdated) else 201
    return Response(status, outcome_view(outcome, principal), headers)


def hold_status(updated: HoldUpdated) -> int:
    """A placed hold (its id is its command's) and a capture's transaction are new: 201. A
    void only changes the hold: 200."""
    change = updated.change
    return 201 if change.transaction is not None or change.hold.id == updated.command_id else 200
