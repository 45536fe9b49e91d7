"""Memory per idle connection: the server's resident set before and after holding many open."""

import socket
from pathlib import Path
from urllib.parse import urlsplit

IDLE_CONNECTIONS = 1000
RESPONSE_BYTES_MAX = 4096
CONNECT_TIMEOUT_S = 5.0


def bytes_per_idle_connection(url: str, pid: int, count: int = IDLE_CONNECTIONS) -> float:
    """Each connection makes one keep-alive request and then waits: idle as a browser's is."""
    parts = urlsplit(url)
    request = f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    before = resident_bytes(pid)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            connection = socket.create_connection((parts.hostname, parts.port or 80),
                                                  timeout=CONNECT_TIMEOUT_S)
            held.append(connection)
            connection.sendall(request)
            connection.recv(RESPONSE_BYTES_MAX)
        after = resident_bytes(pid)
    finally:
        for connection in held:
            connection.close()
    return (after - before) / count


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no resident set size for pid {pid}")
