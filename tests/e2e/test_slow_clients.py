"""Idle, slow and greedy clients: each is dropped within its bound and the rest are served.

The server here runs with short timeouts and small caps (passed through its
environment), so the bounds are reached in a second instead of half a minute.
Each test plays its clients from its own loopback address (127.x.y.z), so one
test's lingering sockets never count against another's per-address cap.
"""

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Engine
from tests.e2e.raw import connect, is_closed, read_answer, request_head
from tests.e2e.server import Server, auth, client, unique, wait_until

TIMEOUT_S = 1  # the header, body and keep-alive timeouts of this server
PER_ADDRESS_MAX, TOTAL_MAX = 8, 40
CLOSE_BOUND_S = 10.0  # generous: the server closes after TIMEOUT_S, the test allows more
LIMITS = {"WALLET_HEADER_TIMEOUT_S": str(TIMEOUT_S), "WALLET_BODY_TIMEOUT_S": str(TIMEOUT_S),
          "WALLET_KEEPALIVE_TIMEOUT_S": str(TIMEOUT_S),
          "WALLET_CONNECTIONS_PER_ADDRESS_MAX": str(PER_ADDRESS_MAX),
          "WALLET_CONNECTIONS_MAX": str(TOTAL_MAX)}
OPERATOR = auth("ops", "operator")


@pytest.fixture(scope="module")
def tight(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("tight")), {**env, **LIMITS}).start()
        yield running
        running.stop()


def healthy(server: Server) -> bool:
    try:
        with client(server) as session:
            return session.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def still_open_refused(sock: socket.socket) -> bool:
    """False while the server keeps this connection (it held no request: nothing to answer)."""
    sock.settimeout(0.05)
    return is_closed(sock)


def closed_soon(sock: socket.socket) -> bool:
    sock.settimeout(CLOSE_BOUND_S)
    return is_closed(sock)


def test_half_sent_heads_are_dropped_while_others_are_served(tight: Server) -> None:
    with ExitStack() as stack:
        slow = [stack.enter_context(connect(tight, "127.0.1.1")) for _ in range(PER_ADDRESS_MAX)]
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: wa")  # and never the rest
        assert healthy(tight)
        assert all(closed_soon(sock) for sock in slow)


def test_a_half_sent_body_is_dropped_and_nothing_is_committed(tight: Server) -> None:
    user = unique()
    body = f"userId={user}&amount=1000".encode()
    with connect(tight, "127.0.1.2") as sock:
        sock.sendall(request_head("POST", "/wallet/deposit", {
            **OPERATOR, "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body))}) + body[:-3])
        answer = read_answer(sock)
        assert (answer.status, answer.error_code()) == (408, "request_timeout")
        assert closed_soon(sock)
    with client(tight) as session:
        assert session.get(f"/wallet/balance/{user}", headers=OPERATOR).json()["balance"] \
            == "0.00"


def test_an_idle_keep_alive_connection_is_closed(tight: Server) -> None:
    with connect(tight, "127.0.1.3") as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert read_answer(sock).status == 200
        assert closed_soon(sock)


def busy(server: Server, source: str) -> socket.socket:
    """A connection mid-body: it has a request under way, so it is never the one dropped."""
    sock = connect(server, source)
    sock.sendall(request_head("POST", "/wallet/deposit", {
        **OPERATOR, "Content-Type": "application/json", "Content-Length": "100",
        "Expect": "100-continue"}))
    # The interim answer says the server parsed the head: the request is under way.
    assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue")
    return sock


def test_at_the_per_address_cap_a_new_request_displaces_the_oldest_idle_connection(
        tight: Server) -> None:
    """Slowloris from one address: its own half-sent heads make way, its real requests pass."""
    with ExitStack() as stack:
        slow = [stack.enter_context(connect(tight, "127.0.1.5")) for _ in range(PER_ADDRESS_MAX)]
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: wa")  # and never the rest
        fresh = stack.enter_context(connect(tight, "127.0.1.5"))
        fresh.sendall(request_head("GET", "/healthz", {}))
        assert read_answer(fresh).status == 200
        oldest = read_answer(slow[0])
        assert (oldest.status, oldest.error_code()) == (408, "request_timeout")


def test_over_the_per_address_cap_a_connection_is_refused(tight: Server) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(busy(tight, "127.0.1.4")) for _ in range(PER_ADDRESS_MAX)]
        extra = stack.enter_context(connect(tight, "127.0.1.4"))
        extra.sendall(request_head("GET", "/healthz", {}))
        answer = read_answer(extra)
        assert (answer.status, answer.error_code()) == (429, "too_many_connections")
        assert healthy(tight)  # another address is still served
        assert all(not closed for closed in map(still_open_refused, held))


def test_over_the_total_cap_a_connection_is_refused_and_the_service_recovers(
        tight: Server) -> None:
    with ExitStack() as stack:
        for number in range(TOTAL_MAX):
            stack.enter_context(busy(tight, f"127.0.2.{number // PER_ADDRESS_MAX + 1}"))
        with connect(tight, "127.0.2.200") as extra:
            extra.sendall(request_head("GET", "/healthz", {}))
            answer = read_answer(extra)
        assert (answer.status, answer.error_code()) == (503, "unavailable")
    wait_until(lambda: healthy(tight), timeout_s=CLOSE_BOUND_S)


def test_at_the_total_cap_a_new_request_displaces_the_oldest_idle_connection(
        tight: Server) -> None:
    with ExitStack() as stack:
        idle = [stack.enter_context(connect(tight, f"127.0.3.{number // PER_ADDRESS_MAX + 1}"))
                for number in range(TOTAL_MAX)]
        for sock in idle:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        with connect(tight, "127.0.3.200") as fresh:
            fresh.sendall(request_head("GET", "/healthz", {}))
            assert read_answer(fresh).status == 200
        assert read_answer(idle[0]).status == 408


def test_the_service_stays_up(tight: Server) -> None:
    with client(tight) as session:
        response = session.post("/wallet/deposit", json={"userId": unique(), "amount": "1"},
                                headers=OPERATOR)
        assert response.status_code == 201, response.text
