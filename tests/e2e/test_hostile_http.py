"""What a hostile or clumsy client sends over a raw socket, and what the edge must answer.

Bodies arrive in pieces with pauses, as they do on a real network; encodings
lie; headers overflow; paths are bent. Every answer is our JSON envelope with
a 4xx, never a 5xx, never a traceback, never an echo of the caller's headers.
"""

import gzip
import json
import zlib

import httpx
import pytest

from tests.e2e.raw import Answer, connect, exchange, read_answer, request_head, send_pieces
from tests.e2e.server import ROOT, Server, auth, token, unique, wait_until

OPERATOR = auth("ops", "operator")
FORM = "application/x-www-form-urlencoded"


def deposit_head(length: int, content_type: str = FORM, **headers: str) -> bytes:
    return request_head("POST", "/wallet/deposit", {
        **OPERATOR, "Content-Type": content_type, "Content-Length": str(length), **headers})


def split_deposit(server: Server, body: bytes, cut: int, content_type: str = FORM) -> Answer:
    """The head and the first `cut` bytes in one segment, the rest after a pause."""
    head = deposit_head(len(body), content_type)
    return exchange(server, [head + body[:cut], body[cut:]])


def balance(api: httpx.Client, user: str) -> dict[str, object]:
    response = api.get(f"/wallet/balance/{user}", headers=OPERATOR)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_form_amount_split_in_two_commits_the_whole_amount(
        server: Server, api: httpx.Client) -> None:
    user = unique()
    body = f"userId={user}&amount=1000".encode()
    answer = split_deposit(server, body, len(body) - 3)
    assert answer.status == 201, answer
    assert answer.json()["amount"] == "1000.00"
    assert balance(api, user)["balance"] == "1000.00"


def test_a_split_user_id_credits_the_named_wallet(server: Server, api: httpx.Client) -> None:
    user = unique()
    body = f"userId={user}&amount=5".encode()
    answer = split_deposit(server, body, len("userId=") + 4)
    assert answer.status == 201, answer
    assert answer.json()["userId"] == user


def test_a_late_currency_is_not_dropped(server: Server) -> None:
    body = f"userId={unique()}&amount=300&currency=JPY".encode()
    answer = split_deposit(server, body, body.index(b"&currency"))
    assert answer.status == 201, answer
    assert (answer.json()["amount"], answer.json()["currency"]) == ("300", "JPY")


def test_a_split_json_body_is_read_whole(server: Server) -> None:
    body = json.dumps({"userId": unique(), "amount": "12.34"}).encode()
    answer = split_deposit(server, body, 9, "application/json")
    assert answer.status == 201, answer
    assert answer.json()["amount"] == "12.34"


def test_a_chunked_body_in_slow_pieces_is_read_whole(server: Server) -> None:
    user = unique()
    body = f"userId={user}&amount=42".encode()
    head = request_head("POST", "/wallet/deposit", {
        **OPERATOR, "Content-Type": FORM, "Transfer-Encoding": "chunked"})
    chunks = [body[:10], body[10:]]
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks]
    answer = exchange(server, [head + framed[0], framed[1], b"0\r\n\r\n"])
    assert answer.status == 201, answer
    assert (answer.json()["userId"], answer.json()["amount"]) == (user, "42.00")


def test_a_declared_length_over_the_cap_is_413(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(deposit_head(64 * 1024 + 1))  # the body never comes: no need to wait
        answer = read_answer(sock)
    assert (answer.status, answer.error_code()) == (413, "payload_too_large")


def test_a_chunked_body_over_the_cap_is_413(server: Server) -> None:
    head = request_head("POST", "/wallet/deposit", {
        **OPERATOR, "Content-Type": FORM, "Transfer-Encoding": "chunked"})
    chunk = b"a" * 40_000
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    answer = exchange(server, [head + framed, framed, b"0\r\n\r\n"], pause_s=0.1)
    assert (answer.status, answer.error_code()) == (413, "payload_too_large")


def encoded_deposit(server: Server, encoding: str, body: bytes, **headers: str) -> Answer:
    return exchange(server, [deposit_head(len(body), "application/json",
                                          **{"Content-Encoding": encoding}, **headers) + body])


@pytest.mark.parametrize("authorized", [True, False])
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_body_that_does_not_decode_is_400(
        server: Server, encoding: str, authorized: bool) -> None:
    head = deposit_head(9, "application/json", **{"Content-Encoding": encoding})
    if not authorized:
        head = head.replace(OPERATOR["Authorization"].encode(), b"Bearer nope")
    answer = exchange(server, [head + b"not-gzip!"])
    assert (answer.status, answer.error_code()) == (400, "validation_error")


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "x-made-up", "gzip, br"])
def test_an_unsupported_encoding_is_415(server: Server, encoding: str) -> None:
    answer = encoded_deposit(server, encoding, b'{"userId":"u","amount":"1"}')
    assert (answer.status, answer.error_code()) == (415, "unsupported_media_type")


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", bytes)])
def test_a_well_encoded_body_is_decoded(server: Server, encoding: str, encode: object) -> None:
    assert callable(encode)
    body = json.dumps({"userId": unique(), "amount": "3"}).encode()
    answer = encoded_deposit(server, encoding, encode(body))
    assert answer.status == 201, answer
    assert answer.json()["amount"] == "3.00"


def test_a_body_that_decodes_past_the_cap_is_413(server: Server) -> None:
    bomb = gzip.compress(b" " * (10 * 1024 * 1024))  # 10 MiB of spaces in about 10 KiB
    answer = encoded_deposit(server, "gzip", bomb)
    assert (answer.status, answer.error_code()) == (413, "payload_too_large")


def assert_envelope_without_echo(answer: Answer, status: int, secret: str) -> None:
    assert answer.status == status, answer
    assert answer.error_code()
    assert secret.encode() not in answer.body and b"Traceback" not in answer.body


def test_an_oversized_header_is_an_envelope_that_echoes_nothing(server: Server) -> None:
    secret = token("ops", "operator")
    head = request_head("GET", "/wallet/balance/ops", {
        "Authorization": f"Bearer {secret}{'x' * 9000}"})
    assert_envelope_without_echo(exchange(server, [head]), 431, secret[:40])


def test_too_many_headers_is_an_envelope(server: Server) -> None:
    headers = {f"X-H{number}": "v" for number in range(200)}
    answer = exchange(server, [request_head("GET", "/healthz", headers)])
    assert_envelope_without_echo(answer, 400, "X-H1")


def test_a_bad_expect_header_is_an_envelope_that_echoes_nothing(server: Server) -> None:
    secret = token("ops", "operator")
    head = request_head("POST", "/wallet/deposit", {
        **OPERATOR, "Expect": f"Bearer {secret}", "Content-Length": "0"})
    assert_envelope_without_echo(exchange(server, [head]), 400, secret[:40])


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    b"POST /wallet/deposit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /wallet/deposit HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
])
def test_malformed_http_is_a_400_envelope(server: Server, raw: bytes) -> None:
    assert_envelope_without_echo(exchange(server, [raw]), 400, "Traceback")


def test_a_malformed_request_is_one_warning_line_without_traceback(server: Server) -> None:
    before = len(server.logs())
    exchange(server, [b"GARBAGE /x HTTP/1.1\r\n\r\n"])
    wait_until(lambda: "malformed request" in server.logs()[before:])
    new_lines = server.logs()[before:].splitlines()
    refusals = [json.loads(line) for line in new_lines if "malformed request" in line]
    assert len(refusals) == 1 and refusals[0]["level"] == "WARNING"
    assert "Traceback" not in server.logs()[before:]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/wallet/nope"), ("DELETE", "/wallet/deposit"), ("GET", "/wallet/history/"),
    ("GET", "//wallet/deposit"), ("POST", "/wallet/deposit/"), ("PATCH", "/wallet"),
])
def test_anything_under_wallet_answers_401_without_a_token(
        server: Server, method: str, path: str) -> None:
    answer = exchange(server, [request_head(method, path, {"Content-Length": "0"})])
    assert (answer.status, answer.error_code()) == (401, "unauthorized")


@pytest.mark.parametrize("path", [
    "/wallet/nope", "/wallet/history/", "//wallet/deposit", "/wallet/deposit/",
    "/wallet/balance/a/b", "/wallet"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_wallet_path_with_a_token_is_404(
        server: Server, method: str, path: str) -> None:
    answer = exchange(server, [request_head(method, path, {**OPERATOR, "Content-Length": "0"})])
    assert (answer.status, answer.error_code()) == (404, "not_found")


def test_an_exact_route_with_the_wrong_method_is_405_with_allow(api: httpx.Client) -> None:
    answer = api.delete("/wallet/deposit", headers=OPERATOR)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    assert api.post("/wallet/history/x", headers=OPERATOR).headers["Allow"] == "GET"


def test_a_bad_token_on_an_unknown_wallet_path_is_401(api: httpx.Client) -> None:
    answer = api.get("/wallet/nope", headers={"Authorization": "Bearer not-a-jwt"})
    assert answer.status_code == 401


def test_the_server_is_healthy_after_all_this(server: Server) -> None:
    with connect(server) as sock:
        send_pieces(sock, [request_head("GET", "/healthz", {})])
        assert read_answer(sock).status == 200


@pytest.mark.skipif(not (ROOT / "frontend" / "dist" / "assets").is_dir(),
                    reason="the dashboard is not built (make test builds it)")
@pytest.mark.parametrize("path", [
    "/assets/", "/assets/no-such-file.js", "/assets/%2e%2e/index.html", "/assets/.x",
    "/assets/a/../../index.html"])
def test_the_static_files_errors_are_envelopes(server: Server, path: str) -> None:
    answer = exchange(server, [request_head("GET", path, {})])
    assert answer.status in (403, 404), answer
    assert answer.error_code() in ("forbidden", "not_found")


def test_a_built_asset_is_still_served(server: Server) -> None:
    assets = ROOT / "frontend" / "dist" / "assets"
    if not assets.is_dir():
        pytest.skip("the dashboard is not built (make test builds it)")
    name = next(assets.iterdir()).name
    answer = exchange(server, [request_head("GET", f"/assets/{name}", {})])
    assert answer.status == 200 and answer.body == (assets / name).read_bytes()
    assert "immutable" in answer.headers["cache-control"]
