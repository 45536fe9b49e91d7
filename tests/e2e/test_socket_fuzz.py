"""A bounded fuzz pass at the socket level: generated requests, byte for byte.

Schemathesis (test_fuzz.py) speaks well-formed HTTP; this pass does not. It
generates request lines, headers, Content-Encodings and bodies (framed by
Content-Length or chunked, honestly or not) and sends them over a raw socket.
Whatever it sends, the server answers no 5xx, never hangs, never shows a
traceback, answers every error in the JSON envelope (the dashboard's HTML and
file routes aside), and is healthy afterwards. Hypothesis runs derandomized
with a fixed number of examples, so the pass is the same on every run.

A second pass does the same to the websocket handshake: upgrade requests with
a valid token, well-formed or not, sent whole, cut short, or dropped before or
after the 101. Whatever happens, the user's websocket slots are all free
again, a refusal is one WARNING line, and nothing logs an error.
"""

import asyncio
import base64
import contextlib
import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from itertools import combinations
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import websockets
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Engine
from tests.e2e.raw import Answer, connect, read_answer, request_head, reset
from tests.e2e.scrape import sample, scrape
from tests.e2e.server import Server, auth, token, unique, wait_until
from tests.e2e.test_websocket import ws_url

EXAMPLES = 400
READ_TIMEOUT_S = 8.0  # above nothing the server waits for: the pass never lies about length
RESPONSE_BYTES_MAX = 256 * 1024
TOKEN = token("ops", "operator")
# The part of the token that is this token's alone: every HS256 token starts with the same
# 40 bytes (the header and `.eyJ`), and so does the spec's example token.
TOKEN_SIGNATURE = TOKEN.rsplit(".", 1)[1].encode()
PATHS = ["/wallet/deposit", "/wallet/payout", "/wallet/transfer", "/wallet/balance/ops",
         "/wallet/history/ops?limit=2", "/wallet/history", "/wallet/transactions/x",
         "/wallet/", "//wallet/deposit", "/wallet/deposit/", "/healthz", "/openapi.json",
         "/docs", "/nope", "/wallet/balance/%00", "/wallet/history/ops?from=%ff"]
PAGE_PREFIXES = ("/docs", "/assets/")  # HTML and files, not JSON, by design; and "/" itself
HEADER_NAMES = ["Content-Type", "Authorization", "Idempotency-Key", "X-Request-Id", "Accept",
                "Expect", "Accept-Encoding", "Range", "Cookie", "X-Forwarded-For", "Host"]
HEADER_VALUES = ["application/json", "application/x-www-form-urlencoded", "text/plain",
                 f"Bearer {TOKEN}", "Bearer nope", "100-continue", "gzip", "bytes=0-1",
                 "", " ", "a" * 300, "\u00e9", "key-1"]
ENCODINGS = ["identity", "gzip", "deflate", "br", "zstd", "x-bogus", "gzip, deflate", ""]
SAFE_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)


def deposit_body(user: st.DrawFn) -> bytes:
    return json.dumps({"userId": user(st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
                       "amount": user(st.sampled_from(["1", "0.01", "-1", "1e3", "x"]))}).encode()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    raw = draw(st.one_of(st.builds(lambda: b""), st.binary(max_size=300),
                         st.builds(deposit_body, st.just(draw)),
                         SAFE_TEXT.map(str.encode)))
    encoding = draw(st.sampled_from(ENCODINGS))
    if draw(st.booleans()):  # an honest encoding, else a label the bytes do not match
        raw = {"gzip": gzip.compress, "deflate": zlib.compress}.get(encoding, bytes)(raw)
    return raw, encoding


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes]:
    known = st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
    method = draw(st.one_of(known, known, known, st.from_regex(r"[A-Z]{1,8}", fullmatch=True)))
    path = draw(st.one_of(st.sampled_from(PATHS), SAFE_TEXT.map(lambda text: "/" + quote(text)),
                          SAFE_TEXT.map(lambda text: "/" + text)))  # raw: may break the line
    headers = draw(st.fixed_dictionaries({}, optional={  # often enough to reach a handler
        "Authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer nope"]),
        "Content-Type": st.sampled_from(HEADER_VALUES[:3])}))
    headers |= draw(st.dictionaries(st.sampled_from(HEADER_NAMES),
                                    st.one_of(st.sampled_from(HEADER_VALUES), SAFE_TEXT),
                                    max_size=4))
    body, encoding = draw(bodies())
    if encoding:
        headers["Content-Encoding"] = encoding
    framing = draw(st.sampled_from(["length", "length", "chunked", "short-length", "bad-chunk"]))
    return path, frame(method, path, headers, body, framing)


def frame(method: str, path: str, headers: dict[str, str], body: bytes, framing: str) -> bytes:
    """Declared lengths are never longer than what is sent: the server must not wait."""
    headers = {**headers, "Connection": "close"}
    if framing in ("length", "short-length"):
        declared = len(body) if framing == "length" else len(body) // 2
        return request_head(method, path, {**headers, "Content-Length": str(declared)}) + body
    chunks = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
    if framing == "bad-chunk":
        chunks = b"zz\r\n" + chunks
    return request_head(method, path, {**headers, "Transfer-Encoding": "chunked"}) + \
        chunks + b"0\r\n\r\n"


def answer_of(server: Server, raw: bytes) -> bytes:
    """Everything the server sends back until it closes; a hang fails the read's timeout."""
    with connect(server, timeout_s=READ_TIMEOUT_S) as sock:
        # answered and closed before all of it was sent: the answer is still there
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        received = b""
        try:
            while len(received) < RESPONSE_BYTES_MAX and (chunk := sock.recv(65536)):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def final_response(received: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """The response after any 100 Continue, or None when the server only closed."""
    while received.startswith(b"HTTP/1.1 100"):
        received = received.partition(b"\r\n\r\n")[2]
    if not received:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=requests())
def test_generated_requests_never_break_the_edge(server: Server,
                                                 request: tuple[str, bytes]) -> None:
    path, raw = request
    received = answer_of(server, raw)
    assert b"Traceback" not in received and TOKEN_SIGNATURE not in received
    response = final_response(received)
    event("closed without an answer" if response is None else f"status {response[0]}")
    if response is None:
        return
    status, headers, body = response
    assert status < 500, received[:2000]
    page = path.split("?")[0] == "/" or path.startswith(PAGE_PREFIXES)
    if status >= 300 and not page:
        assert headers.get("content-type", "").startswith("application/json"), received[:2000]
        if body and headers.get("transfer-encoding") != "chunked":
            assert json.loads(body)["error"]["code"], received[:2000]


def test_the_server_is_healthy_after_the_fuzz_pass(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert read_answer(sock).status == 200


# The websocket handshake. Each example is one user's: afterwards that user must be able to
# open every one of their slots, so a single leaked slot fails it.
SLOTS_PER_USER = 16  # WALLET_WEBSOCKETS_PER_USER_MAX, set explicitly on the handshake server
HANDSHAKE_EXAMPLES = 200
SLOTS_FREE_TIMEOUT_S = 5.0  # a dropped socket's slot is free once the server saw it go
REFUSED_AT_THE_EDGE = "request refused at the edge"
HANDSHAKE_DROPPED = "websocket handshake dropped"
WELL_FORMED = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": base64.b64encode(b"sixteen bytes ok").decode(),
               "Sec-WebSocket-Version": "13"}
# What a client may get wrong, header by header; None leaves the header out. Each of these
# is refused on its own (aiohttp also takes versions 7 and 8).
MISTAKES: dict[str, list[str | None]] = {
    "Upgrade": [None, "", "h2c", "websocket2"],
    "Connection": [None, "keep-alive", "close"],
    "Sec-WebSocket-Key": [None, "", base64.b64encode(b"short").decode(), "not base64!"],
    "Sec-WebSocket-Version": [None, "", "12", "x"]}
WRONG_TOGETHER = [*combinations(sorted(MISTAKES), 1), *combinations(sorted(MISTAKES), 2)]
BODY_SENT_BYTES, BODY_DECLARED_BYTES = 8, 64  # a body cut short: the head is whole


def upgrade_request(user: str, headers: dict[str, str], body_bytes: int = 0) -> bytes:
    if body_bytes:
        headers = {**headers, "Content-Length": str(BODY_DECLARED_BYTES)}
    return request_head("GET", f"/ws?token={token(user)}", headers) + b"x" * body_bytes


def whole(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    """Sends it all and reads the answer; a client that got its 101 then closes (a FIN)."""
    with connect(server) as sock:
        sock.sendall(upgrade_request(user, headers))
        return read_answer(sock)


def reset_after_the_101(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    sock = connect(server)
    sock.sendall(upgrade_request(user, headers))
    answer = read_answer(sock)
    reset(sock)
    return answer


def closed_before_the_101(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    with connect(server) as sock:
        sock.sendall(upgrade_request(user, headers))
    return None


def reset_before_the_101(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    sock = connect(server)
    sock.sendall(upgrade_request(user, headers))
    reset(sock)
    return None


def head_cut_short(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    with connect(server) as sock:
        sock.sendall(upgrade_request(user, headers).removesuffix(b"\r\n"))
    return None


def body_cut_short(server: Server, user: str, headers: dict[str, str]) -> Answer | None:
    with connect(server) as sock:
        sock.sendall(upgrade_request(user, headers, BODY_SENT_BYTES))
    return None


Delivery = Callable[[Server, str, dict[str, str]], Answer | None]
DELIVERIES: dict[str, Delivery] = {delivery.__name__: delivery for delivery in (
    whole, reset_after_the_101, closed_before_the_101, reset_before_the_101, head_cut_short,
    body_cut_short)}
DROPPED = {name: delivery for name, delivery in DELIVERIES.items() if name != "whole"}
REFUSED = {"a plain GET": {},
           "Upgrade: h2c": {**WELL_FORMED, "Upgrade": "h2c"},
           "Sec-WebSocket-Version: 12": {**WELL_FORMED, "Sec-WebSocket-Version": "12"},
           "no Sec-WebSocket-Key": {name: value for name, value in WELL_FORMED.items()
                                    if name != "Sec-WebSocket-Key"}}


@pytest.fixture(scope="module")
def handshakes(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of their own, so that its log lines and its open sockets are theirs alone."""
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("handshakes")), {
            **env, "WALLET_WEBSOCKETS_PER_USER_MAX": str(SLOTS_PER_USER)}).start()
        yield running
        running.stop()


async def _every_slot_opens(server: Server, user: str) -> bool:
    """Opens all of the user's slots at once, then closes them; False if one is refused."""
    async with contextlib.AsyncExitStack() as sockets:
        try:
            for _ in range(SLOTS_PER_USER):
                await sockets.enter_async_context(websockets.connect(ws_url(server, token(user))))
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code == 429, refused.response  # the user's cap
            return False
    return True


def open_sockets(server: Server) -> float | None:
    """The runtime's table of sockets, as its metric reports it."""
    return sample(scrape(f"{server.url}/metrics", auth("ops", "operator"))[1],
                  "wallet_websockets_open")


def assert_every_slot_free(server: Server, user: str) -> None:
    """The relay holds none of the user's slots, and the runtime no socket: the server is
    this section's alone, so its every socket is closed again."""
    wait_until(lambda: asyncio.run(_every_slot_opens(server, user)),
               timeout_s=SLOTS_FREE_TIMEOUT_S, interval_s=0.05)
    wait_until(lambda: open_sockets(server) == 0, timeout_s=SLOTS_FREE_TIMEOUT_S)


def log_records_since(server: Server, offset: int) -> list[dict[str, Any]]:
    """The JSON log lines after `offset`, with none at ERROR and no traceback among them."""
    text = server.logs()[offset:]
    assert "Traceback" not in text, text[-3000:]
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert not [record for record in records if record["level"] in ("ERROR", "CRITICAL")]
    return records


def warnings_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in records if record["level"] == "WARNING"]


@st.composite
def upgrade_headers(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    """Well-formed as often as not, else one or two headers wrong; and whether well-formed."""
    right = {"Upgrade": draw(st.sampled_from(["websocket", "WebSocket"])),
             "Connection": draw(st.sampled_from(["Upgrade", "keep-alive, upgrade"])),
             "Sec-WebSocket-Key": base64.b64encode(draw(st.binary(min_size=16, max_size=16)))
             .decode(),
             "Sec-WebSocket-Version": "13"}
    wrong = () if draw(st.booleans()) else draw(st.sampled_from(WRONG_TOGETHER))
    headers = {name: draw(st.sampled_from(MISTAKES[name])) if name in wrong else value
               for name, value in right.items()}
    return {name: value for name, value in headers.items() if value is not None}, not wrong


# No shrinking: an example is one request already, and each failing one waits out
# SLOTS_FREE_TIMEOUT_S, so shrinking would outlast the test's timeout.
@settings(max_examples=HANDSHAKE_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow])
@given(handshake=upgrade_headers(), delivery=st.sampled_from(sorted(DELIVERIES)))
def test_generated_handshakes_leave_every_slot_free(
        handshakes: Server, handshake: tuple[dict[str, str], bool], delivery: str) -> None:
    (headers, well_formed), user, offset = handshake, unique(), len(handshakes.logs())
    note(f"{delivery}: {headers}")  # without the shrink phase, hypothesis prints no arguments
    answer = DELIVERIES[delivery](handshakes, user, headers)
    event(f"{delivery}, {'well-formed' if well_formed else 'refused'}")
    if answer is not None:
        assert answer.status == (101 if well_formed else 400), answer
        if answer.status == 400:
            assert answer.error_code() == "bad_request"
    assert_every_slot_free(handshakes, user)
    warned = warnings_of(log_records_since(handshakes, offset))
    if answer is not None and answer.status == 400:
        assert [record["msg"] for record in warned] == [REFUSED_AT_THE_EDGE], warned
    assert len(warned) <= 1, warned
    assert {record["msg"] for record in warned} <= {REFUSED_AT_THE_EDGE, HANDSHAKE_DROPPED}


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED)
def test_refused_upgrades_take_no_slot_and_log_one_warning_each(
        handshakes: Server, headers: dict[str, str]) -> None:
    user, offset = unique(), len(handshakes.logs())
    for _ in range(SLOTS_PER_USER + 1):  # one more than the slots: leaks would take them all
        answer = whole(handshakes, user, headers)
        assert answer is not None and answer.status == 400, answer
        assert answer.error_code() == "bad_request"
    assert_every_slot_free(handshakes, user)
    warned = warnings_of(log_records_since(handshakes, offset))
    assert len(warned) == SLOTS_PER_USER + 1, warned
    assert all(record["msg"] == REFUSED_AT_THE_EDGE and record["path"] == "/ws"
               for record in warned), warned


@pytest.mark.parametrize("delivery", DROPPED.values(), ids=DROPPED)
def test_dropped_handshakes_free_their_slots_and_log_no_error(
        handshakes: Server, delivery: Delivery) -> None:
    user, offset = unique(), len(handshakes.logs())
    for _ in range(SLOTS_PER_USER + 1):
        delivery(handshakes, user, WELL_FORMED)
    assert_every_slot_free(handshakes, user)
    warned = warnings_of(log_records_since(handshakes, offset))
    assert len(warned) <= SLOTS_PER_USER + 1, warned  # one at most per handshake
    assert {record["msg"] for record in warned} <= {HANDSHAKE_DROPPED}, warned
