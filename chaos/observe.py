"""What the run watches and reads: an operator's websocket throughout, and the books at the end.

The listener reconnects after every fault (a killed gateway or relay, a
Redis restart), as a dashboard would, and keeps every balanceUpdated and
holdUpdated it receives: at-least-once delivery may repeat a message, never
change it. The final reads go through the API, as any client's would, after
the run has healed everything: each wallet's balance, history and holds,
then the operator's audit of the whole journal.

Holds keep expiring after the run, so a wallet's active holds are read on
either side of its balance, and again until both reads agree with the
balance's `held`; a wallet whose reads never settle is judged on its last
ones.
"""

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets

from chaos.records import TIMESTAMP_FORMAT, FinalState, minor

RECONNECT_S = 0.2
RECONNECTS_MAX = 100_000  # about one a fault; a bound on the loop, never reached
OPEN_TIMEOUT_S = 5.0
MESSAGE_BYTES_MAX = 1 << 20
HISTORY_PAGE_MAX = 200  # the API's own page limit, for history and holds alike
HISTORY_PAGES_MAX = 10_000
READ_ATTEMPTS_MAX = 20  # after the run nothing is broken; a read that keeps failing is a bug
READ_RETRY_S = 0.5
READ_TIMEOUT_S = 5.0
AUDIT_TIMEOUT_S = 120.0  # it recomputes every chain of the run's journal
SETTLED_READS_MAX = 40  # a wallet's holds and balance read again while its holds expire
EVENTS_KEPT = ("balanceUpdated", "holdUpdated")


class Listener:
    def __init__(self, url: str, token: str) -> None:
        self.url, self._token = url, token
        self.events: list[dict[str, Any]] = []
        self.connections = 0

    async def run(self) -> None:
        for _ in range(RECONNECTS_MAX):
            with contextlib.suppress(OSError, TimeoutError, websockets.WebSocketException):
                async with websockets.connect(f"{self.url}?token={self._token}",
                                              open_timeout=OPEN_TIMEOUT_S,
                                              max_size=MESSAGE_BYTES_MAX) as socket:
                    self.connections += 1
                    async for raw in socket:
                        message = json.loads(raw)
                        if message.get("event") in EVENTS_KEPT:
                            self.events.append(message)
            await asyncio.sleep(RECONNECT_S)


async def read_json(http: httpx.AsyncClient, url: str, headers: Mapping[str, str],
                    params: Mapping[str, str] | None = None,
                    timeout_s: float = READ_TIMEOUT_S) -> Any:
    for _ in range(READ_ATTEMPTS_MAX):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            reply = await http.get(url, headers=headers, params=params, timeout=timeout_s)
            if reply.status_code == 200:
                return reply.json()
        await asyncio.sleep(READ_RETRY_S)
    raise RuntimeError(f"GET {url} kept failing after the run")


async def exponents(http: httpx.AsyncClient, gateway: str,
                    operator: Mapping[str, str]) -> dict[str, int]:
    table = await read_json(http, f"{gateway}/wallet/currencies", operator)
    return {row["code"]: int(row["exponent"]) for row in table["currencies"]}


@dataclass
class _Books:
    """The final state as it is read, wallet by wallet."""

    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    available: dict[tuple[str, str], int] = field(default_factory=dict)
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)
    active_holds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


async def final_state(http: httpx.AsyncClient, gateway: str, wallets: list[str],
                      operator: Mapping[str, str], digits: Mapping[str, int]) -> FinalState:
    read_at = datetime.now(UTC).strftime(TIMESTAMP_FORMAT)
    books = _Books()
    histories: dict[str, list[dict[str, Any]]] = {}
    for wallet in wallets:
        await _wallet(http, gateway, wallet, operator, digits, books)
        histories[wallet] = await history(http, gateway, wallet, operator)
    audit = await read_json(http, f"{gateway}/wallet/audit/verify", operator,
                            timeout_s=AUDIT_TIMEOUT_S)
    return FinalState(digits, books.balances, histories, held=books.held,
                      available=books.available, holds=books.holds,
                      active_holds=books.active_holds, read_at=read_at, audit=audit)


async def _wallet(http: httpx.AsyncClient, gateway: str, wallet: str,
                  operator: Mapping[str, str], digits: Mapping[str, int], books: _Books) -> None:
    """One wallet's balance and holds, read until its active holds hold still around it."""
    for _ in range(SETTLED_READS_MAX):
        before = await holds(http, gateway, wallet, operator, "held")
        read = await read_json(http, f"{gateway}/wallet/balance/{wallet}", operator)
        every = await holds(http, gateway, wallet, operator)
        after = await holds(http, gateway, wallet, operator, "held")
        held = {currency: amount for currency, amount in
                _amounts(read, "heldBalances", digits).items() if amount}
        if before == after and _held_by(after, digits) == held:
            break
        await asyncio.sleep(READ_RETRY_S)
    for name, into in (("balances", books.balances), ("heldBalances", books.held),
                       ("availableBalances", books.available)):
        for currency, amount in _amounts(read, name, digits).items():
            into[(wallet, currency)] = amount
    books.holds.update((hold["id"], hold) for hold in every)
    books.active_holds[wallet] = after


def _amounts(read: Mapping[str, Any], name: str, digits: Mapping[str, int]) -> dict[str, int]:
    return {currency: minor(amount, currency, digits)
            for currency, amount in read.get(name, {}).items()}


def _held_by(active: list[dict[str, Any]], digits: Mapping[str, int]) -> dict[str, int]:
    """What a balance's heldBalances should say for these active holds, zeros left out."""
    held: Counter[str] = Counter()
    for hold in active:
        held[hold["currency"]] += minor(hold["amount"], hold["currency"], digits)
    return dict(held)


async def history(http: httpx.AsyncClient, gateway: str, wallet: str,
                  operator: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every entry of one wallet, oldest first, page by page."""
    params = {"limit": str(HISTORY_PAGE_MAX), "order": "asc"}
    return await _pages(http, f"{gateway}/wallet/history/{wallet}", operator, params)


async def holds(http: httpx.AsyncClient, gateway: str, wallet: str,
                operator: Mapping[str, str], status: str | None = None) -> list[dict[str, Any]]:
    """Every hold of one wallet (of one status, if given), newest first, page by page."""
    params = {"userId": wallet, "limit": str(HISTORY_PAGE_MAX)}
    if status is not None:
        params["status"] = status
    return await _pages(http, f"{gateway}/wallet/holds", operator, params)


async def _pages(http: httpx.AsyncClient, url: str, operator: Mapping[str, str],
                 params: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(HISTORY_PAGES_MAX):
        page = await read_json(http, url, operator, params)
        items += page["items"]
        if page["nextCursor"] is None:
            return items
        params = {**params, "cursor": page["nextCursor"]}
    raise RuntimeError(f"{url} did not end")
