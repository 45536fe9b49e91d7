"""Free ports on 127.0.0.1, and whether something listens on one: shared by every test helper."""

import socket

PORT_ATTEMPTS_MAX = 50
CONNECT_PROBE_TIMEOUT_S = 0.2  # per attempt, on loopback


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_run(length: int) -> int:
    """The first of `length` consecutive free ports (a topology takes several in a row)."""
    for _ in range(PORT_ATTEMPTS_MAX):
        first = free_port()
        if first + length < 65535 and all(_free(first + step) for step in range(length)):
            return first
    raise RuntimeError(f"no run of {length} free ports found")


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CONNECT_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
