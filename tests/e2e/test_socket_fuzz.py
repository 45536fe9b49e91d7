"""A bounded fuzz pass at the socket level: generated requests, byte for byte.

Schemathesis (test_fuzz.py) speaks well-formed HTTP; this pass does not. It
generates request lines, headers, Content-Encodings and bodies (framed by
Content-Length or chunked, honestly or not) and sends them over a raw socket.
Whatever it sends, the server answers no 5xx, never hangs, never shows a
traceback, answers every error in the JSON envelope (the dashboard's HTML and
file routes aside), and is healthy afterwards. Hypothesis runs derandomized
with a fixed number of examples, so the pass is the same on every run.
"""

import contextlib
import gzip
import json
import zlib
from urllib.parse import quote

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.e2e.raw import connect, read_answer, request_head
from tests.e2e.server import Server, token

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
