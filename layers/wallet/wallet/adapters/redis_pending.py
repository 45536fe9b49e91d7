"""Pending 202s in Redis, so that every gateway can answer a Location another one handed out.

Only a hint for reads: once the command applies the store answers, and a
Redis that cannot be reached makes `owner` say None (a 404 until then), never
an error. Entries expire with the same lifetime as a gateway's own memory.
"""

import logging

from wallet.adapters.redis_client import FAILURES, open_client
from wallet.service_layer.ports import PendingCommands
from wallet.service_layer.waiters import PENDING_REMEMBERED_S

log = logging.getLogger("wallet.pending")


class RedisPendingCommands(PendingCommands):
    def __init__(self, url: str, namespace: str) -> None:
        self._client = open_client(url)
        self._prefix = f"{namespace}:pending:"

    def remember(self, command_id: str, owner: str) -> None:
        try:
            self._client.set(self._prefix + command_id, owner, ex=PENDING_REMEMBERED_S)
        except FAILURES:
            log.warning("pending command not shared; only this gateway knows it")

    def owner(self, command_id: str) -> str | None:
        try:
            found = self._client.get(self._prefix + command_id)
        except FAILURES:
            return None
        return None if found is None else str(found)

    def close(self) -> None:
        self._client.close()
