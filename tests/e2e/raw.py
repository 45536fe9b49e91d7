"""A hostile client over a raw socket: requests sent in pieces, answers read by hand.

httpx always sends a whole, well-formed request; these helpers send exactly
the bytes a test names, when it names them, from the source address it names
(any 127.x.y.z works on Linux loopback), so a test can play several clients.
"""

import json
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.server import Server

SOCKET_TIMEOUT_S = 10.0  # no test ever waits longer than this on one read
PIECE_PAUSE_S = 0.3  # long enough for the server to see each piece as its own segment
RESPONSE_BYTES_MAX = 1024 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> str:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        code: str = self.json()["error"]["code"]
        assert self.json()["error"]["message"]
        return code


def connect(server: Server, source: str = "127.0.0.1",
            timeout_s: float = SOCKET_TIMEOUT_S) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=timeout_s,
                                    source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece its own segment
    return sock


def send_pieces(sock: socket.socket, pieces: Iterable[bytes],
                pause_s: float = PIECE_PAUSE_S) -> None:
    for number, piece in enumerate(pieces):
        if number:
            time.sleep(pause_s)  # a slow client, not a wait for a condition
        sock.sendall(piece)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: wallet", *(f"{k}: {v}" for k, v in
                                                         headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> Answer:
    """One response, read up to its Content-Length (or to close when it has none)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status_line.split(" ")[1])
    if status == 101:
        return Answer(status, headers, b"")  # no body: the upgraded protocol follows
    length = int(headers.get("content-length", RESPONSE_BYTES_MAX))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(status, headers, body[:length])


def exchange(server: Server, pieces: Iterable[bytes], pause_s: float = PIECE_PAUSE_S,
             source: str = "127.0.0.1") -> Answer:
    with connect(server, source) as sock:
        send_pieces(sock, pieces, pause_s)
        return read_answer(sock)


def reset(sock: socket.socket) -> None:
    """Closes with a TCP reset, as a crashed client or a middlebox does, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def is_closed(sock: socket.socket) -> bool:
    """True once the server closed its side; whatever it wrote first is drained."""
    try:
        while chunk := sock.recv(65536):
            del chunk
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True
