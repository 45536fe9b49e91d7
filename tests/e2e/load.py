"""Mixed load across several gateways, the way a careful client behaves, and the books it implies.

Each operation has its own Idempotency-Key. A client that gets no answer, a
503, or a 202 it cannot resolve retries with the same key, on another
gateway, until the operation is settled: committed (201, or a Location that
says so) or refused (422). The expected balances then follow from the
settled operations alone, and the server must agree to the cent.
"""

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import httpx

from tests.e2e.server import auth, unique

ATTEMPTS_MAX = 60
RETRY_BACKOFF_S_MAX = 1.0
RESOLVE_POLLS_MAX = 40  # polls of a 202's Location before the client re-sends its request
RESOLVE_INTERVAL_S = 0.25
REQUEST_TIMEOUT_S = 15
RETRIED_STATUSES = {202, 502, 503, 504}


@dataclass(frozen=True)
class Operation:
    kind: str
    body: dict[str, str]

    @property
    def actor(self) -> dict[str, str]:
        source = self.body.get("fromUserId")
        return auth(source, "user") if source else auth("ops", "operator")


@dataclass
class Settled:
    operation: Operation
    status: str  # committed | rejected
    transaction_id: str
    answers: list[int] = field(default_factory=list)


def plan(wallets: list[str], count: int, rng: random.Random) -> list[Operation]:
    operations = [Operation("deposit", {"userId": w, "amount": "100.00"}) for w in wallets]
    for _ in range(count - len(operations)):
        kind = rng.choice(["deposit", "payout", "transfer", "transfer"])
        amount = f"{rng.randint(1, 4000) / 100:.2f}"
        if kind == "transfer":
            source, target = rng.sample(wallets, 2)
            operations.append(Operation(kind, {"fromUserId": source, "toUserId": target,
                                               "amount": amount}))
        else:
            operations.append(Operation(kind, {"userId": rng.choice(wallets), "amount": amount}))
    return operations


async def settle(gateways: list[str], operation: Operation, session: aiohttp.ClientSession,
                 number: int) -> Settled:
    key, answers = unique("key"), []
    for attempt in range(ATTEMPTS_MAX):
        gateway = gateways[(number + attempt) % len(gateways)]
        status, body = await _post(session, gateway, operation, key)
        answers.append(status)
        assert status < 500 or status in RETRIED_STATUSES, (status, body)
        if status == 202:
            resolved = await _resolve(session, gateways, operation, body["id"])
            if resolved is not None:
                return Settled(operation, resolved, body["id"], answers)
        elif status in (201, 422):
            settled = "committed" if status == 201 else "rejected"
            return Settled(operation, settled, body.get("id", ""), answers)
        elif status not in RETRIED_STATUSES:
            raise AssertionError(f"unexpected {status}: {body}")
        await asyncio.sleep(min(RETRY_BACKOFF_S_MAX, 0.05 * 2 ** attempt))
    raise AssertionError(f"{operation} never settled: {answers}")


async def _post(session: aiohttp.ClientSession, gateway: str, operation: Operation,
                key: str) -> tuple[int, Any]:
    headers = {**operation.actor, "Idempotency-Key": key}
    try:
        async with session.post(f"{gateway}/wallet/{operation.kind}", json=operation.body,
                                headers=headers) as response:
            return response.status, await response.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError):
        return 503, {"error": "no answer"}


async def _resolve(session: aiohttp.ClientSession, gateways: list[str], operation: Operation,
                   transaction_id: str) -> str | None:
    for poll in range(RESOLVE_POLLS_MAX):
        gateway = gateways[poll % len(gateways)]
        try:
            async with session.get(f"{gateway}/wallet/transactions/{transaction_id}",
                                   headers=operation.actor) as response:
                body = await response.json(content_type=None)
                if response.status == 200 and body["status"] in ("committed", "rejected"):
                    return str(body["status"])
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(RESOLVE_INTERVAL_S)
    return None


async def run(gateways: list[str], operations: list[Operation], concurrency: int,
              warm_up: int = 0) -> list[Settled]:
    """Settles every operation; the first `warm_up` ones (the funding deposits) go first."""
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one(number: int, operation: Operation) -> Settled:
            async with gate:
                return await settle(gateways, operation, session, number)
        first = [await one(n, op) for n, op in enumerate(operations[:warm_up])]
        rest = await asyncio.gather(*(one(n, op) for n, op in enumerate(operations[warm_up:])))
    return first + list(rest)


def expected_balances(settled: list[Settled]) -> tuple[dict[str, Decimal], set[str]]:
    balances: dict[str, Decimal] = Counter()
    committed: set[str] = set()
    for outcome in settled:
        if outcome.status != "committed":
            continue
        committed.add(outcome.transaction_id)
        body, amount = outcome.operation.body, Decimal(outcome.operation.body["amount"])
        if outcome.operation.kind == "deposit":
            balances[body["userId"]] += amount
        elif outcome.operation.kind == "payout":
            balances[body["userId"]] -= amount
        else:
            balances[body["fromUserId"]] -= amount
            balances[body["toUserId"]] += amount
    return balances, committed


def check_books(gateway: str, wallets: list[str], settled: list[Settled]) -> None:
    """Balances exact, never negative, equal to their entries; each commit in history once."""
    expected, committed = expected_balances(settled)
    operator = auth("ops", "operator")
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=gateway, timeout=30) as client:
        for wallet in wallets:
            reply = client.get(f"/wallet/balance/{wallet}", headers=operator)
            balance = Decimal(reply.json()["balance"])
            assert balance == expected[wallet] >= 0, (wallet, balance, expected[wallet])
            items = history(client, wallet, operator)
            signed = sum(Decimal(i["amount"]) * (1 if i["type"] in ("deposit", "transfer_in")
                                                 else -1) for i in items)
            assert signed == balance, "entries must sum to the balance"
            seen.update({item["id"] for item in items})
    assert set(seen) == committed, "history holds exactly the committed operations"


def history(client: httpx.Client, wallet: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(200):
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/wallet/history/{wallet}", params=params, headers=headers).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            ids = [item["id"] for item in items]
            assert len(ids) == len(set(ids)), "an operation appears twice in one history"
            return items
    raise AssertionError("history did not end")
