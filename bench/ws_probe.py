"""Commit → `balanceUpdated` on a websocket, measured while k6 loads the wallet.

A probe client deposits into its own wallet a few times a second and notes
when each 201 arrived; an operator websocket notes when each transaction's
event arrived. The delay is the second minus the first, by transaction id: the
201 comes right after the commit, so this is the delivery the dashboard sees
(negative when the event beat the response).
"""

import asyncio
import json
import threading
import time
from types import TracebackType

import aiohttp
import websockets

PROBE_DEPOSITS_PER_S = 20
PROBE_IN_FLIGHT_MAX = 100  # deposits started on time, not after the previous one's answer
PROBE_USER = "probe-0"
LATE_EVENTS_WAIT_S = 2.0  # after the last deposit, how long its events may still take
REQUEST_TIMEOUT_S = 10.0


class DeliveryProbe:
    """Runs in its own thread and event loop from `with` until the block ends."""

    def __init__(self, base_url: str, websocket_url: str, operator_token: str) -> None:
        self._base_url, self._token = base_url, operator_token
        self._websocket_url = f"{websocket_url}?token={operator_token}"
        self._answered: dict[str, float] = {}  # transaction id -> when its 201 arrived
        self._received: dict[str, float] = {}  # transaction id -> when its event arrived
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._probe()), daemon=True)

    def __enter__(self) -> "DeliveryProbe":
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stopping.set()
        self._thread.join(LATE_EVENTS_WAIT_S + REQUEST_TIMEOUT_S * 2)

    def delays_ms(self) -> list[float]:
        return sorted((self._received[key] - answered) * 1000
                      for key, answered in self._answered.items() if key in self._received)

    @property
    def missing(self) -> int:
        """Committed probe deposits whose event never came within the wait."""
        return sum(1 for key in self._answered if key not in self._received)

    async def _probe(self) -> None:
        async with websockets.connect(self._websocket_url, compression=None,
                                      max_size=2**20) as socket:
            listening = asyncio.create_task(self._listen(socket))
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await self._deposit_on_time(session)
            deadline = time.monotonic() + LATE_EVENTS_WAIT_S
            while self.missing and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            listening.cancel()

    async def _deposit_on_time(self, session: aiohttp.ClientSession) -> None:
        """An open loop, as k6 runs beside it: a slow answer delays no later deposit."""
        in_flight: set[asyncio.Task[None]] = set()
        while not self._stopping.is_set():
            if len(in_flight) < PROBE_IN_FLIGHT_MAX:
                task = asyncio.create_task(self._deposit(session))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.sleep(1 / PROBE_DEPOSITS_PER_S)
        await asyncio.gather(*in_flight)

    async def _deposit(self, session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        body = {"userId": PROBE_USER, "amount": "1.00"}
        try:
            async with session.post(f"{self._base_url}/wallet/deposit", json=body,
                                    headers=headers) as response:
                answered = time.monotonic()
                if response.status == 201:
                    self._answered[(await response.json())["id"]] = answered
        except (aiohttp.ClientError, TimeoutError):
            pass  # a lost probe is a missing sample, not a failed run

    async def _listen(self, socket: websockets.ClientConnection) -> None:
        async for message in socket:
            received = time.monotonic()
            event = json.loads(message)
            if event.get("event") == "balanceUpdated" and event.get("userId") == PROBE_USER:
                self._received.setdefault(event["transaction"]["id"], received)
