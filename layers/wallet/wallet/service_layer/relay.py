"""The websocket relay: who is connected, and which committed events each may see.

A socket lives no longer than its token. Two checks make that hold: fan-out
never sends to a connection whose token has expired (it hangs up instead),
and `expire` hangs up on the expired ones that no event touched.
"""

import json
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from wallet.domain.access import Principal, SocketLimits
from wallet.domain.errors import Unauthorized
from wallet.domain.events import HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.ledger import Transaction
from wallet.service_layer.ports import NO_METRICS, Connections, Metrics, TokenCodec
from wallet.service_layer.throttle import Throttle
from wallet.service_layer.views import balance_updated, hold_updated

log = logging.getLogger("wallet.relay")

# 4000-4999 are the application's own close codes (RFC 6455 7.4.2); a client reads this one
# as "sign in again", not as a network failure to retry with the same token.
TOKEN_EXPIRED = (4001, "token expired")
DEFAULT_LIMITS = SocketLimits()

# One event for one wallet's audience, rendered only if somebody listens.
Message = tuple[str, Callable[[], dict[str, Any]]]


class Relay:
    def __init__(self, connections: Connections, tokens: TokenCodec,
                 limits: SocketLimits = DEFAULT_LIMITS,
                 clock: Callable[[], float] = time.time, metrics: Metrics = NO_METRICS,
                 throttle: Throttle | None = None) -> None:  # None: no rate limits
        self._connections, self._tokens = connections, tokens
        self._limits, self._clock, self._metrics = limits, clock, metrics
        self._throttle = throttle

    def connect(self, connection_id: str, token: str, address: str = "") -> Principal:
        """A connection attempt draws on the same buckets as an HTTP request: the caller's,
        or for a bad token the client address's (RateLimited when it is empty)."""
        try:
            principal = self._tokens.verify(token)
        except Unauthorized:
            if self._throttle is not None:
                self._throttle.check_stranger(address)
            raise
        if self._throttle is not None:
            self._throttle.check(principal)
        self._connections.add(connection_id, principal, self._limits)
        return principal

    def disconnect(self, connection_id: str) -> None:
        self._connections.remove(connection_id)

    def expire(self) -> int:
        """Hangs up on every connection whose token has expired; returns how many."""
        expired = self._connections.expired(self._clock())
        for connection_id in expired:
            self._hang_up_expired(connection_id)
        return len(expired)

    def fan_out(self, outcomes: Sequence[Outcome]) -> int:
        """Pushes a balanceUpdated per wallet a transaction touched, and a holdUpdated per
        hold change (a capture both); returns how many messages went out."""
        sent, now_s = 0, self._clock()
        for outcome in outcomes:
            for account_id, render in _messages(outcome):
                sent += self._push(account_id, render, now_s)
        self._metrics.events_fanned_out(sent)
        return sent

    def _push(self, account_id: str, render: Callable[[], dict[str, Any]], now_s: float) -> int:
        audience = self._live_audience(account_id, now_s)
        if not audience:
            return 0  # nobody listens: skip the rendering, the common case under load
        text, sent = json.dumps(render(), separators=(",", ":")), 0
        for connection_id in audience:
            if self._connections.send(connection_id, text):
                sent += 1
            else:
                log.info("dropping closed connection", extra={"connection": connection_id})
                self._connections.remove(connection_id)
        return sent

    def _live_audience(self, account_id: str, now_s: float) -> list[str]:
        """Who may see this wallet's event now; an expired listener is hung up on instead."""
        live = []
        for connection_id, principal in self._connections.audience([account_id]):
            if principal.expired(now_s):
                self._hang_up_expired(connection_id)
            else:
                live.append(connection_id)
        return live

    def _hang_up_expired(self, connection_id: str) -> None:
        log.info("closing websocket: token expired", extra={"connection": connection_id})
        self._connections.hang_up(connection_id, *TOKEN_EXPIRED)
        self._connections.remove(connection_id)


def _messages(outcome: Outcome) -> list[Message]:
    """What an outcome tells whom: each wallet hears only of its own money."""
    if isinstance(outcome, TransactionCommitted):
        return _balance_messages(outcome.transaction)
    if isinstance(outcome, HoldUpdated):
        change = outcome.change
        held: list[Message] = [(change.hold.user_id, partial(hold_updated, change))]
        return held + ([] if change.transaction is None else
                       _balance_messages(change.transaction))
    return []  # a rejection changed nothing anyone watches


def _balance_messages(transaction: Transaction) -> list[Message]:
    return [(posting.account_id, partial(balance_updated, transaction, posting))
            for posting in transaction.user_postings]
