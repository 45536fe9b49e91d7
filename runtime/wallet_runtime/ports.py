"""Ports to hand to a process that binds them later: chosen below the kernel's ephemeral range.

A port the kernel hands out for `bind(("127.0.0.1", 0))` comes from the
ephemeral range, the same range it draws from for every outgoing connection
and every other `port 0` listener (each child's metrics listener, say). A
port picked there and bound a moment later by another process can be taken
in between. Below the range, only someone naming the port takes it.
"""

import random
import socket
from pathlib import Path

PORT_ATTEMPTS_MAX = 200
PORT_LOW = 10_000  # above the well-known and most registered services' ports
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
EPHEMERAL_LOW_DEFAULT = 32_768  # Linux's default when the range cannot be read


def free_port() -> int:
    return free_port_run(1)


def free_port_run(length: int) -> int:
    """The first of `length` consecutive ports free now, all below the ephemeral range."""
    assert length >= 1
    high = _ephemeral_low() - length
    for _ in range(PORT_ATTEMPTS_MAX):
        first = random.randrange(PORT_LOW, high)
        if all(_is_free(first + step) for step in range(length)):
            return first
    raise RuntimeError(f"no run of {length} free ports found below {high + length}")


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return EPHEMERAL_LOW_DEFAULT


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
