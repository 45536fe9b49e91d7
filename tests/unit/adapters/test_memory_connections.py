"""adapters/memory_connections.py: the relay's registry of listeners."""

from __future__ import annotations

import pytest
from wallet.adapters.memory_connections import MemoryConnections
from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import TooManyConnections, Unavailable

from ..fakes import ALICE, BOB, OPERATOR, RecordingCloser, RecordingSender

LIMITS = SocketLimits()


def registry() -> MemoryConnections:
    connections = MemoryConnections(RecordingSender())
    for connection_id, principal in (("a", ALICE), ("b", BOB), ("o", OPERATOR)):
        connections.add(connection_id, principal, LIMITS)
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


def test_a_user_over_their_cap_is_refused_and_others_are_not() -> None:
    connections, limits = MemoryConnections(), SocketLimits(per_user_max=2, per_process_max=10)
    connections.add("a1", ALICE, limits)
    connections.add("a2", Principal("alice", "user", 99), limits)  # another token, same user
    with pytest.raises(TooManyConnections):
        connections.add("a3", ALICE, limits)
    connections.add("b1", BOB, limits)
    connections.remove("a1")
    connections.add("a3", ALICE, limits)  # a closed socket frees its place
    assert connections.count() == 3


def test_a_full_process_is_unavailable_to_everyone() -> None:
    connections, limits = MemoryConnections(), SocketLimits(per_user_max=5, per_process_max=2)
    connections.add("a1", ALICE, limits)
    connections.add("b1", BOB, limits)
    with pytest.raises(Unavailable):
        connections.add("o1", OPERATOR, limits)
    assert connections.count() == 2


def test_expired_lists_the_connections_whose_token_ended() -> None:
    connections = MemoryConnections()
    connections.add("early", Principal("alice", "user", 100), LIMITS)
    connections.add("late", Principal("bob", "user", 200), LIMITS)
    connections.add("never", OPERATOR, LIMITS)
    assert connections.expired(150) == ["early"]
    assert sorted(connections.expired(200)) == ["early", "late"]


def test_hang_up_goes_through_the_closer() -> None:
    closer = RecordingCloser()
    MemoryConnections(closer=closer).hang_up("a", 4001, "token expired")
    assert closer.hung_up == [("a", 4001, "token expired")]
