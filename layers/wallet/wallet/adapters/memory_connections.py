"""Websocket connections held in this process, with a pluggable way to send.

The registry is the relay's view of who listens; the sender belongs to
whatever owns the sockets (the local runtime's event loop). Keeping them apart
is what lets the relay logic run unchanged behind API Gateway.
"""

import threading
from collections.abc import Callable, Collection, Iterator

from wallet.domain.access import Principal
from wallet.service_layer.ports import Connections

Sender = Callable[[str, str], bool]


def _nowhere(connection_id: str, text: str) -> bool:
    return False


class MemoryConnections(Connections):
    def __init__(self, sender: Sender = _nowhere) -> None:
        self.sender = sender
        self._principals: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def add(self, connection_id: str, principal: Principal) -> None:
        with self._lock:
            self._principals[connection_id] = principal

    def remove(self, connection_id: str) -> None:
        with self._lock:
            self._principals.pop(connection_id, None)

    def audience(self, user_ids: Collection[str]) -> Iterator[tuple[str, Principal]]:
        with self._lock:
            listeners = list(self._principals.items())
        for connection_id, principal in listeners:
            if principal.is_operator or principal.subject in user_ids:
                yield connection_id, principal

    def send(self, connection_id: str, text: str) -> bool:
        return self.sender(connection_id, text)

    def count(self) -> int:
        """Not __len__: an empty registry must not be falsy, or `registry or default` bites."""
        with self._lock:
            return len(self._principals)
