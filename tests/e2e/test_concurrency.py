"""A thousand-plus concurrent mixed operations on a few hot wallets, then the books must balance.

Operations race each other, retries reuse their Idempotency-Keys, and
payouts and transfers are allowed to fail for want of funds. Afterwards every
invariant a ledger owes its users is checked against what was acknowledged.
"""

import asyncio
import json
import random
from collections import Counter
from decimal import Decimal
from typing import Any, NamedTuple

import aiohttp
import httpx

from tests.e2e.load import history
from tests.e2e.server import Server, auth, unique

OPERATIONS = 1_200
CONCURRENCY = 200
RETRY_SHARE = 0.2  # this share of operations is sent twice with the same key


def plan(wallets: list[str], rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    operations = []
    for _ in range(OPERATIONS):
        kind = rng.choice(["deposit", "deposit", "payout", "transfer", "transfer"])
        amount = f"{rng.randint(1, 5000) / 100:.2f}"
        if kind == "transfer":
            source, target = rng.sample(wallets, 2)
            operations.append((kind, {"fromUserId": source, "toUserId": target,
                                      "amount": amount}))
        else:
            operations.append((kind, {"userId": rng.choice(wallets), "amount": amount}))
    return operations


class Answer(NamedTuple):
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def send(client: aiohttp.ClientSession, gate: asyncio.Semaphore, kind: str,
               body: dict[str, str], key: str) -> Answer:
    actor = body.get("fromUserId") or "ops"
    headers = {**auth(actor, "user" if kind == "transfer" else "operator"),
               "Idempotency-Key": key}
    async with gate, client.post(f"/wallet/{kind}", json=body, headers=headers) as response:
        return Answer(response.status, await response.text())


async def run(server: Server, operations: list[tuple[str, dict[str, str]]],
              rng: random.Random) -> list[tuple[str, dict[str, str], list[Answer]]]:
    """aiohttp rather than httpx here: httpx's async pool cannot drive this much load."""
    gate = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(server.url, connector=connector) as client:
        tasks = []
        for kind, body in operations:
            key, copies = unique("key"), 2 if rng.random() < RETRY_SHARE else 1
            tasks.append(asyncio.gather(*(send(client, gate, kind, body, key)
                                          for _ in range(copies))))
        results = await asyncio.gather(*tasks)
    return [(kind, body, list(r)) for (kind, body), r in zip(operations, results, strict=True)]


def expected_balances(results: list[Any]) -> tuple[dict[str, Decimal], set[str]]:
    balances: dict[str, Decimal] = Counter()
    ids: set[str] = set()
    for kind, body, responses in results:
        statuses = {r.status_code for r in responses}
        assert statuses <= {201, 422}, [r.text for r in responses]
        assert len({r.text for r in responses}) == 1, "a retry must replay the first answer"
        if 201 not in statuses:
            continue
        ids.add(responses[0].json()["id"])
        amount = Decimal(body["amount"])
        if kind == "deposit":
            balances[body["userId"]] += amount
        elif kind == "payout":
            balances[body["userId"]] -= amount
        else:
            balances[body["fromUserId"]] -= amount
            balances[body["toUserId"]] += amount
    return balances, ids


def test_concurrent_mixed_operations_leave_exact_balances(server: Server) -> None:
    rng = random.Random(20261125)
    wallets = [unique("hot") for _ in range(5)]
    results = asyncio.run(run(server, plan(wallets, rng), rng))
    expected, acknowledged = expected_balances(results)
    assert len(acknowledged) > OPERATIONS // 2
    operator = auth("ops", "operator")
    seen: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for wallet in wallets:
            balance = Decimal(client.get(f"/wallet/balance/{wallet}", headers=operator)
                              .json()["balance"])
            assert balance == expected[wallet] >= 0
            items = history(client, wallet, operator)
            seen += [item["id"] for item in items]
            signed = sum(Decimal(i["amount"]) * (1 if i["type"] in ("deposit", "transfer_in")
                                                 else -1) for i in items)
            assert signed == balance, "entries must sum to the balance"
            assert all(Decimal(i["balanceAfter"]) >= 0 for i in items)
    counts = Counter(seen)
    internal = {tx for tx, n in counts.items() if n == 2}  # a transfer between two hot wallets
    assert set(counts) == acknowledged
    assert all(n == 1 for tx, n in counts.items() if tx not in internal)
