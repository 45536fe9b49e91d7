"""wallet_runtime/edge.py, bodies.py and process_limits.py: the edge's bounds, without I/O."""

import gzip
import json
import logging
import zlib

import pytest
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from wallet.domain.errors import PayloadTooLarge, TooManyConnections, ValidationError
from wallet.entrypoints.request import BODY_BYTES_MAX
from wallet_runtime.bodies import decoded
from wallet_runtime.edge import (
    ConnectionCounts,
    Edge,
    EdgeLimits,
    _parse_error,
    raw_answer,
)
from wallet_runtime.process_limits import (
    LOOP_ERROR_INTERVAL_S,
    LOOP_ERRORS_PER_INTERVAL_MAX,
    BoundedLoopErrors,
    connections_max,
)
from wallet_runtime.server import _matches, _under_wallet


def test_connections_are_capped_per_address_and_in_total() -> None:
    counts = ConnectionCounts(total_max=3, per_address_max=2)
    assert counts.admit("a") is None and counts.admit("a") is None
    refused = counts.admit("a")
    assert refused is not None and refused.code == "too_many_connections"  # the client's doing
    assert counts.admit("b") is None
    refused = counts.admit("c")
    assert refused is not None and refused.code == "unavailable"  # the server is full
    counts.release("a")
    assert counts.admit("c") is None and counts.total == 3


def test_a_released_address_leaves_the_table() -> None:
    counts = ConnectionCounts(total_max=10, per_address_max=1)
    for number in range(100):
        assert counts.admit(f"10.0.0.{number % 5}") is None
        counts.release(f"10.0.0.{number % 5}")
    assert counts.total == 0 and not counts._by_address


class IdleSocket:
    """Stands in for an EdgeProtocol: displacing it frees its places, as the real one does."""

    def __init__(self, edge: Edge, address: str) -> None:
        self.edge, self.address, self.displaced = edge, address, False
        assert edge.admit(address) is None
        edge.idle.add(address, self)  # type: ignore[arg-type]

    def displace(self) -> None:
        self.displaced = True
        self.edge.connections.release(self.address)
        self.edge.idle.discard(self.address, self)  # type: ignore[arg-type]


def test_at_a_cap_the_oldest_idle_connection_of_that_cap_makes_way() -> None:
    edge = Edge(EdgeLimits(1, 1, 1, connections_max=3, connections_per_address_max=2))
    first, second, other = IdleSocket(edge, "a"), IdleSocket(edge, "a"), IdleSocket(edge, "b")
    assert edge.admit("a") is None  # the address's cap: its own oldest goes
    assert (first.displaced, second.displaced, other.displaced) == (True, False, False)
    assert edge.admit("c") is None  # the total: the oldest of all goes
    assert second.displaced and not other.displaced


def test_with_no_idle_connection_the_cap_refuses() -> None:
    edge = Edge(EdgeLimits(1, 1, 1, connections_max=2, connections_per_address_max=1))
    assert edge.admit("a") is None and edge.admit("b") is None  # both busy: never idle
    refusal = edge.admit("a")
    assert refusal is not None and refusal.code == "too_many_connections"
    refusal = edge.admit("c")
    assert refusal is not None and refusal.code == "unavailable"


def test_a_raw_answer_is_a_whole_http_response_in_the_envelope() -> None:
    head, _, body = raw_answer(TooManyConnections("later")).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    assert b"Content-Length: %d" % len(body) in head and b"Connection: close" in head
    assert json.loads(body) == {"error": {"code": "too_many_connections", "message": "later"}}


def test_parse_errors_name_nothing_the_caller_sent() -> None:
    long_line = _parse_error(LineTooLong(b"Bearer eyJsecret", 8190))
    assert long_line.code == "headers_too_large" and "eyJ" not in long_line.message
    assert _parse_error(BadHttpMessage("Bearer eyJsecret")).code == "bad_request"
    assert "eyJ" not in _parse_error(BadHttpMessage("Bearer eyJsecret")).message


@pytest.mark.parametrize(("encoding", "encode"), [("gzip", gzip.compress),
                                                  ("deflate", zlib.compress)])
def test_bodies_decode_exactly(encoding: str, encode: object) -> None:
    assert callable(encode)
    assert decoded(encode(b"userId=u&amount=1"), encoding) == b"userId=u&amount=1"


@pytest.mark.parametrize("raw", [b"not gzip", gzip.compress(b"x" * 100)[:-4],
                                 gzip.compress(b"x") + b"trailing"])
def test_a_broken_or_trailed_gzip_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decoded(raw, "gzip")


def test_a_bomb_is_refused_without_inflating_it_whole() -> None:
    with pytest.raises(PayloadTooLarge):
        decoded(zlib.compress(b"\0" * (BODY_BYTES_MAX * 100)), "deflate")
    assert len(decoded(zlib.compress(b"\0" * BODY_BYTES_MAX), "deflate")) == BODY_BYTES_MAX


def test_loop_errors_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    handler = BoundedLoopErrors(clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, "wallet.loop"):
        for _ in range(1000):
            handler(None, {"message": "socket.accept() out of system resource",  # type: ignore[arg-type]
                           "exception": OSError(24, "Too many open files")})
        now[0] += LOOP_ERROR_INTERVAL_S
        handler(None, {"message": "again"})  # type: ignore[arg-type]
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == LOOP_ERRORS_PER_INTERVAL_MAX + 2
    assert caplog.records[-2].dropped == 1000 - LOOP_ERRORS_PER_INTERVAL_MAX  # type: ignore[attr-defined]
    assert all(record.exc_info is None for record in caplog.records)


def test_the_connection_cap_fits_under_the_descriptor_limit() -> None:
    assert connections_max(10_000, 1024) < 1024
    assert connections_max(10_000, 4096) < 4096 - 1024
    assert connections_max(100, 20_000) == 100


@pytest.mark.parametrize(("path", "under"), [
    ("/wallet", True), ("/wallet/x", True), ("//wallet/deposit", True), ("/walletx", False),
    ("/", False), ("/healthz", False)])
def test_the_wallet_namespace(path: str, under: bool) -> None:
    assert _under_wallet(path) is under


@pytest.mark.parametrize(("path", "matches"), [
    ("/wallet/history/u", True), ("/wallet/history/", False), ("/wallet/history/u/", False),
    ("//wallet/history/u", False), ("/wallet/history", False)])
def test_routes_match_segment_by_segment(path: str, matches: bool) -> None:
    assert _matches("/wallet/history/{userId}", path) is matches
