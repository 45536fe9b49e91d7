"""Websocket connections held in this process, with pluggable ways to send and to hang up.

The registry is the relay's view of who listens; the sender and the closer
belong to whatever owns the sockets (the local runtime's event loop). Keeping
them apart is what lets the relay logic run unchanged behind API Gateway.
"""

import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator

from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import TooManyConnections, Unavailable
from wallet.service_layer.ports import Connections

Sender = Callable[[str, str], bool]
Closer = Callable[[str, int, str], None]


def _nowhere(connection_id: str, text: str) -> bool:
    return False


def _nobody(connection_id: str, code: int, reason: str) -> None:
    return None


class MemoryConnections(Connections):
    def __init__(self, sender: Sender = _nowhere, closer: Closer = _nobody) -> None:
        self.sender, self.closer = sender, closer
        self._principals: dict[str, Principal] = {}
        self._per_subject: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, connection_id: str, principal: Principal, limits: SocketLimits) -> None:
        with self._lock:
            if len(self._principals) >= limits.per_process_max:
                raise Unavailable(f"this server holds its maximum of {limits.per_process_max} "
                                  "websockets; retry later")
            if self._per_subject[principal.subject] >= limits.per_user_max:
                raise TooManyConnections(f"you have {limits.per_user_max} websockets open "
                                         "already; close one first")
            self._forget(connection_id)  # a reused id replaces its entry, never counts twice
            self._principals[connection_id] = principal
            self._per_subject[principal.subject] += 1

    def remove(self, connection_id: str) -> None:
        with self._lock:
            self._forget(connection_id)

    def _forget(self, connection_id: str) -> None:
        principal = self._principals.pop(connection_id, None)
        if principal is not None:
            self._per_subject[principal.subject] -= 1
            if not self._per_subject[principal.subject]:
                del self._per_subject[principal.subject]  # the counter stays as small as the map

    def audience(self, user_ids: Collection[str]) -> Iterator[tuple[str, Principal]]:
        with self._lock:
            listeners = list(self._principals.items())
        for connection_id, principal in listeners:
            if principal.is_operator or principal.subject in user_ids:
                yield connection_id, principal

    def send(self, connection_id: str, text: str) -> bool:
        return self.sender(connection_id, text)

    def expired(self, now_epoch_s: float) -> list[str]:
        with self._lock:
            listeners = list(self._principals.items())
        return [connection_id for connection_id, principal in listeners
                if principal.expired(now_epoch_s)]

    def hang_up(self, connection_id: str, code: int, reason: str) -> None:
        self.closer(connection_id, code, reason)

    def count(self) -> int:
        """Not __len__: an empty registry must not be falsy, or `registry or default` bites."""
        with self._lock:
            return len(self._principals)
