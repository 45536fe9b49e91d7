"""The websocket relay: who is connected, and which committed events each may see."""

import json
import logging
from collections.abc import Sequence

from wallet.domain.access import Principal
from wallet.domain.events import Outcome, TransactionCommitted
from wallet.service_layer.ports import Connections, TokenCodec
from wallet.service_layer.views import balance_updated

log = logging.getLogger("wallet.relay")


class Relay:
    def __init__(self, connections: Connections, tokens: TokenCodec) -> None:
        self._connections, self._tokens = connections, tokens

    def connect(self, connection_id: str, token: str) -> Principal:
        principal = self._tokens.verify(token)
        self._connections.add(connection_id, principal)
        return principal

    def disconnect(self, connection_id: str) -> None:
        self._connections.remove(connection_id)

    def fan_out(self, outcomes: Sequence[Outcome]) -> int:
        """Pushes one balanceUpdated per touched wallet; returns how many messages went out."""
        sent = 0
        for outcome in outcomes:
            if isinstance(outcome, TransactionCommitted):
                sent += self._push(outcome)
        return sent

    def _push(self, committed: TransactionCommitted) -> int:
        transaction, sent = committed.transaction, 0
        for posting in transaction.user_postings:
            audience = [connection for connection, _ in self._connections.audience(
                [posting.account_id])]
            if not audience:
                continue  # nobody listens: skip the rendering, the common case under load
            text = json.dumps(balance_updated(transaction, posting), separators=(",", ":"))
            for connection_id in audience:
                if self._connections.send(connection_id, text):
                    sent += 1
                else:
                    log.info("dropping closed connection", extra={"connection": connection_id})
                    self._connections.remove(connection_id)
        return sent
