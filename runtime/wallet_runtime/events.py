"""Turns aiohttp requests into API Gateway HTTP API (payload v2) events, and back."""

import base64
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from wallet.domain.access import Principal
from wallet.domain.errors import WalletError
from wallet.entrypoints.api import error_response, to_result
from wallet.entrypoints.request import Request, RequestRules

from wallet_runtime.bodies import read_body

_REQUEST_ID = re.compile(r"[A-Za-z0-9._=-]{1,128}")


async def http_event(request: web.Request, route_key: str,
                     body_timeout_s: float) -> dict[str, Any]:
    """The event, with the whole body; a WalletError when the body cannot be read."""
    raw = await read_body(request, body_timeout_s)
    try:
        body, encoded = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(raw).decode(), True
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string,
        "headers": _joined((k.lower(), v) for k, v in request.headers.items()),
        "queryStringParameters": _joined(request.query.items()) or None,
        "pathParameters": dict(request.match_info) or None,
        "requestContext": {
            "requestId": request_id(request),
            "routeKey": route_key,
            "timeEpoch": int(time.time() * 1000),
            "http": {"method": request.method, "path": request.path,
                     "sourceIp": request.remote or ""},
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def request_id(request: web.BaseRequest) -> str:
    """The caller's X-Request-Id when it is a plain token, so logs cannot be forged through it."""
    given = request.headers.get("X-Request-Id")
    return given if given and _REQUEST_ID.fullmatch(given) else str(uuid.uuid4())


def error_answer(error: WalletError, request: web.BaseRequest,
                 given_id: str | None = None) -> web.Response:
    """A refusal in our envelope; `given_id` when a log line already named the request."""
    return to_response(to_result(error_response(error), given_id or request_id(request)))


def caller(request: web.BaseRequest, rules: RequestRules) -> Principal:
    """The request's principal, verified as every handler verifies it (or Unauthorized)."""
    return credentials(request, rules).principal


def credentials(request: web.BaseRequest, rules: RequestRules) -> Request:
    """The request as far as authenticating (and rate limiting) it goes: its token and
    its client address."""
    return Request({"headers": {"authorization": request.headers.get("Authorization", "")},
                    "requestContext": {"http": {"sourceIp": request.remote or ""}}}, rules)


def websocket_event(route_key: str, connection_id: str, source_ip: str = "",
                    **extra: Any) -> dict[str, Any]:
    return {"requestContext": {"routeKey": route_key, "connectionId": connection_id,
                               "eventType": route_key.strip("$").upper(),
                               "identity": {"sourceIp": source_ip}}, **extra}


def to_response(result: dict[str, Any]) -> web.Response:
    headers = dict(result.get("headers") or {})
    content_type = headers.pop("Content-Type", "application/json")
    return web.Response(status=int(result["statusCode"]), text=result.get("body") or "",
                        content_type=content_type, headers=headers)


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """API Gateway joins repeated headers and query parameters with commas."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined
