"""Ports handed to a child to bind later never come from the kernel's ephemeral range.

A `port 0` listener or an outgoing connection in another process can be given
any port of that range at any moment, so a port picked there was seen taken
between the pick and the child's bind (a split topology's gateway-2, by a
sibling's metrics listener).
"""

import socket

from wallet_runtime.ports import _ephemeral_low, free_port, free_port_run


def test_a_run_of_ports_is_free_and_below_the_ephemeral_range() -> None:
    for _ in range(50):
        first = free_port_run(3)
        assert first + 3 <= _ephemeral_low()
        for port in range(first, first + 3):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port))  # raises if it was not free


def test_a_single_port_is_below_the_ephemeral_range() -> None:
    assert all(free_port() < _ephemeral_low() for _ in range(50))
