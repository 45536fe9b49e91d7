"""adapters/memory_connections.py: the relay's registry of listeners."""

from __future__ import annotations

from wallet.adapters.memory_connections import MemoryConnections

from ..fakes import ALICE, BOB, OPERATOR, RecordingSender


def registry() -> MemoryConnections:
    connections = MemoryConnections(RecordingSender())
    for connection_id, principal in (("a", ALICE), ("b", BOB), ("o", OPERATOR)):
        connections.add(connection_id, principal)
    return connections


def test_the_audience_is_the_owners_and_every_operator() -> None:
    assert dict(registry().audience(["alice"])) == {"a": ALICE, "o": OPERATOR}


def test_the_audience_of_several_wallets() -> None:
    assert set(dict(registry().audience(["alice", "bob"]))) == {"a", "b", "o"}


def test_remove_forgets_a_connection() -> None:
    connections = registry()
    connections.remove("o")
    connections.remove("missing")
    assert dict(connections.audience(["alice"])) == {"a": ALICE}
    assert connections.count() == 2


def test_send_goes_through_the_sender() -> None:
    sender = RecordingSender(closed={"b"})
    connections = MemoryConnections(sender)
    assert connections.send("a", "hello")
    assert not connections.send("b", "hello")
    assert sender.sent == [("a", "hello")]


def test_without_a_sender_every_connection_is_gone() -> None:
    assert not MemoryConnections().send("a", "hello")
