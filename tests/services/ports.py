"""Free ports on 127.0.0.1 (the runtime's own picker), and whether something listens on one."""

import socket

from wallet_runtime.ports import free_port, free_port_run

__all__ = ["accepts_connections", "free_port", "free_port_run"]

CONNECT_PROBE_TIMEOUT_S = 0.2  # per attempt, on loopback


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CONNECT_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
