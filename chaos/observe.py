"""What the run watches and reads: an operator's websocket throughout, and the books at the end.

The listener reconnects after every fault (a killed gateway or relay, a
Redis restart), as a dashboard would, and keeps every balanceUpdated it
receives: at-least-once delivery may repeat a message, never change it.
The final reads go through the API, as any client's would, after the run
has healed everything.
"""

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

import httpx
import websockets

from chaos.records import FinalState, minor

RECONNECT_S = 0.2
RECONNECTS_MAX = 100_000  # about one a fault; a bound on the loop, never reached
OPEN_TIMEOUT_S = 5.0
MESSAGE_BYTES_MAX = 1 << 20
HISTORY_PAGE_MAX = 200  # the API's own page limit
HISTORY_PAGES_MAX = 10_000
READ_ATTEMPTS_MAX = 20  # after the run nothing is broken; a read that keeps failing is a bug
READ_RETRY_S = 0.5


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
                        if message.get("event") == "balanceUpdated":
                            self.events.append(message)
            await asyncio.sleep(RECONNECT_S)


async def read_json(http: httpx.AsyncClient, url: str, headers: Mapping[str, str],
                    params: Mapping[str, str] | None = None) -> Any:
    for _ in range(READ_ATTEMPTS_MAX):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            reply = await http.get(url, headers=headers, params=params)
            if reply.status_code == 200:
                return reply.json()
        await asyncio.sleep(READ_RETRY_S)
    raise RuntimeError(f"GET {url} kept failing after the run")


async def exponents(http: httpx.AsyncClient, gateway: str,
                    operator: Mapping[str, str]) -> dict[str, int]:
    table = await read_json(http, f"{gateway}/wallet/currencies", operator)
    return {row["code"]: int(row["exponent"]) for row in table["currencies"]}


async def final_state(http: httpx.AsyncClient, gateway: str, wallets: list[str],
                      operator: Mapping[str, str], digits: Mapping[str, int]) -> FinalState:
    balances: dict[tuple[str, str], int] = {}
    histories: dict[str, list[dict[str, Any]]] = {}
    for wallet in wallets:
        read = await read_json(http, f"{gateway}/wallet/balance/{wallet}", operator)
        for currency, amount in read["balances"].items():
            balances[(wallet, currency)] = minor(amount, currency, digits)
        histories[wallet] = await history(http, gateway, wallet, operator)
    return FinalState(digits, balances, histories)


async def history(http: httpx.AsyncClient, gateway: str, wallet: str,
                  operator: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every entry of one wallet, oldest first, page by page."""
    items: list[dict[str, Any]] = []
    params = {"limit": str(HISTORY_PAGE_MAX), "order": "asc"}
    for _ in range(HISTORY_PAGES_MAX):
        page = await read_json(http, f"{gateway}/wallet/history/{wallet}", operator, params)
        items += page["items"]
        if page["nextCursor"] is None:
            return items
        params = {**params, "cursor": page["nextCursor"]}
    raise RuntimeError(f"{wallet}'s history did not end")
