"""The local runtime's HTTP edge: aiohttp's protocol, with our bounds and our envelope.

aiohttp parses HTTP; this module decides how long and how many. A client
that opens a connection and never finishes its request head is dropped after
`header_timeout_s` (answered 408 first), an idle keep-alive connection after
`keepalive_timeout_s`. At a cap, a new connection displaces the oldest idle
one (no request under way: a half-sent head or a kept-alive connection),
which is answered 408 and closed: idle connections are the cheapest to let
go, so a slowloris only ever displaces its own sockets while real requests
pass. Only when every connection under the cap has a request under way is the
new one answered 429 `too_many_connections` (its address's cap) or 503
`unavailable` (the total) and closed at once, so half-sent requests can never
eat the process's file descriptors. Whatever aiohttp
answers by itself (a request it cannot parse) is our JSON envelope too, with
one WARNING log line, and never quotes the request back.
"""

import asyncio
import logging
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from wallet.config import Config
from wallet.domain.errors import (
    BadRequest,
    Forbidden,
    HeadersTooLarge,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    TooManyConnections,
    Unavailable,
    WalletError,
)
from wallet.entrypoints.api import error_response, internal_error, to_result

from wallet_runtime.events import error_answer, request_id, to_response

log = logging.getLogger("wallet.edge")

HEADER_LINE_BYTES_MAX = 8190  # the request line and each header, as aiohttp's default
HEADERS_MAX = 128
LINGER_S = 1.0  # after an early answer, what the client still sends is read and dropped
# Refused connections that linger at once; past it they close at once, since in a flood
# lingering ones would hold the very descriptors the cap protects (see process_limits.py).
REFUSALS_LINGERING_MAX = 64
DISPLACEMENTS_PER_ADMISSION_MAX = 2  # one for the address's cap, one for the total
_ERRORS_BY_STATUS: dict[int, type[WalletError]] = {
    403: Forbidden, 404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge}


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout_s: float
    body_timeout_s: float
    keepalive_timeout_s: float
    connections_max: int
    connections_per_address_max: int

    @classmethod
    def of(cls, config: Config, connections_max: int | None = None) -> "EdgeLimits":
        return cls(config.header_timeout_s, config.body_timeout_s, config.keepalive_timeout_s,
                   connections_max or config.connections_max, config.connections_per_address_max)


class ConnectionCounts:
    """Open connections, in total and per client address; admits while both are under cap."""

    def __init__(self, total_max: int, per_address_max: int) -> None:
        self.total_max, self.per_address_max = total_max, per_address_max
        self.total, self._by_address = 0, Counter[str]()

    def admit(self, address: str) -> WalletError | None:
        """None when admitted; otherwise why not: this address's fault, or the server's."""
        if self._by_address[address] >= self.per_address_max:
            return TooManyConnections("too many connections from your address; "
                                      "retry shortly with fewer at once")
        if self.total >= self.total_max:
            return Unavailable("the server holds all the connections it can; retry shortly")
        self.total += 1
        self._by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        assert self._by_address[address] > 0 and self.total > 0, "released more than admitted"
        self.total -= 1
        self._by_address[address] -= 1
        if not self._by_address[address]:
            del self._by_address[address]  # the table holds open addresses only


class IdleConnections:
    """Connections with no request under way, oldest first, in total and per address."""

    def __init__(self) -> None:
        self._all: OrderedDict[EdgeProtocol, None] = OrderedDict()
        self._by_address: dict[str, OrderedDict[EdgeProtocol, None]] = {}

    def add(self, address: str, protocol: "EdgeProtocol") -> None:
        self._all[protocol] = None
        self._by_address.setdefault(address, OrderedDict())[protocol] = None

    def discard(self, address: str, protocol: "EdgeProtocol") -> None:
        self._all.pop(protocol, None)
        of_address = self._by_address.get(address)
        if of_address is not None:
            of_address.pop(protocol, None)
            if not of_address:
                del self._by_address[address]  # the table holds addresses with idle ones only

    def oldest(self, address: str | None) -> "EdgeProtocol | None":
        """The longest idle connection: of this address, or of any when None."""
        pool = self._all if address is None else self._by_address.get(address, OrderedDict())
        return next(iter(pool), None)


class Edge:
    """What every connection of one listening server shares."""

    def __init__(self, limits: EdgeLimits) -> None:
        self.limits = limits
        self.connections = ConnectionCounts(limits.connections_max,
                                            limits.connections_per_address_max)
        self.idle = IdleConnections()
        self.refusals_lingering = 0

    def admit(self, address: str) -> WalletError | None:
        """None when admitted, displacing idle connections to make room; else why not.

        A refusal names the cap that was hit, so the one idle connection to let
        go is the oldest of this address (its own cap) or of all (the total).
        """
        for _ in range(DISPLACEMENTS_PER_ADMISSION_MAX):
            refusal = self.connections.admit(address)
            if refusal is None:
                return None
            own_cap = isinstance(refusal, TooManyConnections)
            displaced = self.idle.oldest(address if own_cap else None)
            if displaced is None:
                return refusal
            displaced.displace()
        return self.connections.admit(address)


def raw_answer(error: WalletError) -> bytes:
    """A whole HTTP response, for when there is no request to answer through aiohttp."""
    result = to_result(error_response(error), str(uuid.uuid4()))
    body = str(result["body"]).encode()
    status = HTTPStatus(result["statusCode"])
    headers = {**result["headers"], "Content-Length": str(len(body)), "Connection": "close"}
    lines = [f"HTTP/1.1 {status.value} {status.phrase}", *(f"{k}: {v}" for k, v in
                                                          headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class EdgeProtocol(web.RequestHandler):
    """One connection: admitted under the caps, its request head read under a deadline."""

    def __init__(self, manager: web.Server, *, edge: Edge, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._edge, self._address, self._admitted, self._lingering = edge, "", False, False
        self._awaiting_head = True
        self._requests_under_way = 0  # pipelined requests may overlap
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        refusal = self._edge.admit(self._address)
        self._admitted = refusal is None
        if refusal is not None:
            self._refuse(transport, refusal)
            return
        self._edge.idle.add(self._address, self)

    def _refuse(self, transport: asyncio.BaseTransport, refusal: WalletError) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(raw_answer(refusal))
        self._awaiting_head = False
        if self._edge.refusals_lingering >= REFUSALS_LINGERING_MAX:
            self.force_close()
            return
        self._edge.refusals_lingering += 1
        self._lingering = True
        transport.write_eof()  # half-close, and drop what arrives, so the answer is not reset
        self._loop.call_later(LINGER_S, self.force_close)

    def displace(self) -> None:
        """Lets this idle connection go (answered 408) to make room for a new one."""
        assert self._admitted and not self._requests_under_way, "only idle ones make way"
        self._release()
        self._stop_head_timer()
        if self.transport is not None:
            self.transport.write(raw_answer(RequestTimeout(
                "the server needed this idle connection for another client")))
        self.force_close()

    def _release(self) -> None:
        """Frees this connection's places at once; idempotent, as both ends call it."""
        if self._admitted:
            self._admitted = False
            self._edge.connections.release(self._address)
        self._edge.idle.discard(self._address, self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._release()
        if self._lingering:
            self._lingering = False
            self._edge.refusals_lingering -= 1
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if data and self._awaiting_head and self._head_timer is None:
            self._head_timer = self._loop.call_later(
                self._edge.limits.header_timeout_s, self._head_timed_out)
        super().data_received(data)

    def head_received(self) -> None:
        """A request head is complete: its handler reads the body under its own deadline."""
        self._awaiting_head = False
        self._requests_under_way += 1
        self._edge.idle.discard(self._address, self)
        self._stop_head_timer()

    async def finish_response(self, request: web.BaseRequest, resp: web.StreamResponse,
                              start_time: float | None) -> tuple[web.StreamResponse, bool]:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._awaiting_head = True  # the next byte starts the next head's deadline
            self._requests_under_way -= 1
            if self._admitted and not self._requests_under_way:
                self._edge.idle.add(self._address, self)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        timeout_s = self._edge.limits.header_timeout_s
        log.warning("request head timed out", extra={"remote": self._address,
                                                     "header_timeout_s": timeout_s})
        if self.transport is not None:
            self.transport.write(raw_answer(RequestTimeout(
                f"the request head did not arrive within {timeout_s:g} s")))
        self.force_close()

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """aiohttp's answer to what it cannot parse or serve, as our envelope, quoting nothing."""
        if request.writer.output_size > 0:
            raise ConnectionError("a response is already under way: only closing is left")
        if status >= 500:
            log.error("unhandled error", exc_info=exc, extra={"remote": self._address})
            answer = internal_error()
        else:
            answer = error_response(_parse_error(exc))
            log.warning("malformed request", extra={  # the status we answer, not aiohttp's
                "remote": self._address, "status": answer.status, "problem": type(exc).__name__})
        response = to_response(to_result(answer, str(uuid.uuid4())))
        response.force_close()
        return response


def _parse_error(exc: BaseException | None) -> WalletError:
    if isinstance(exc, LineTooLong):
        return HeadersTooLarge(
            f"the request line and each header must be at most {HEADER_LINE_BYTES_MAX} bytes")
    return BadRequest(f"not a valid HTTP/1.1 request (at most {HEADERS_MAX} headers)")


def _enveloped(exception: web.HTTPException, request: web.BaseRequest) -> web.StreamResponse:
    """aiohttp's own answers (a static file's 404, a bad Expect's 417) as our envelope.

    aiohttp's texts quote the request (`Unknown Expect: <the header>`), so ours name nothing
    the caller sent but the method and path.
    """
    error = _ERRORS_BY_STATUS.get(exception.status, BadRequest)
    message = f"{HTTPStatus(exception.status).phrase.lower()}: {request.method} {request.path}"
    if exception.status == HTTPStatus.EXPECTATION_FAILED:
        message = "Expect may only be 100-continue"
    return error_answer(error(message), request)


class EdgeServer(web.Server):
    """aiohttp's server, making EdgeProtocols and telling each when a request head is done."""

    def __init__(self, made: web.Server, edge: Edge, **handler_kwargs: Any) -> None:
        factory, app_handler = made.request_factory, made.request_handler

        def request_factory(message: Any, payload: Any, protocol: web.RequestHandler,
                            writer: Any, task: Any) -> web.BaseRequest:
            if isinstance(protocol, EdgeProtocol):
                protocol.head_received()
            return factory(message, payload, protocol, writer, task)

        async def request_handler(request: web.BaseRequest) -> web.StreamResponse:
            try:
                return await app_handler(request)
            except web.HTTPException as exception:  # raised before or past our middlewares
                if exception.status < 400:
                    raise
                return _enveloped(exception, request)

        super().__init__(request_handler, request_factory=request_factory,
                         handler_cancellation=made.handler_cancellation)
        self._edge, self._handler_kwargs = edge, handler_kwargs

    def __call__(self) -> EdgeProtocol:
        return EdgeProtocol(self, loop=asyncio.get_running_loop(), edge=self._edge,
                            **self._handler_kwargs)


class EdgeRunner(web.AppRunner):
    """An AppRunner (startup and shutdown hooks and all) whose server is an EdgeServer."""

    def __init__(self, app: web.Application, edge: Edge) -> None:
        super().__init__(app, handle_signals=False, access_log=None)
        self._edge = edge

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        return EdgeServer(
            made, self._edge, access_log=None, auto_decompress=False,  # bodies.py decodes
            keepalive_timeout=self._edge.limits.keepalive_timeout_s, lingering_time=LINGER_S,
            max_line_size=HEADER_LINE_BYTES_MAX, max_field_size=HEADER_LINE_BYTES_MAX,
            max_headers=HEADERS_MAX)


def answered_at_the_edge(error: WalletError, request: web.Request) -> web.Response:
    """A request the edge refused before any handler ran: one WARNING line, closed after."""
    given_id = request_id(request)  # one id, so the log line and the answer name the same
    log.warning("request refused at the edge", extra={
        "request_id": given_id, "code": error.code, "path": request.path})
    response = error_answer(error, request, given_id)
    if isinstance(error, RequestTimeout | PayloadTooLarge):
        response.force_close()  # the rest of that body is not worth waiting for
    return response

