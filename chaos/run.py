"""One configuration's bank test: start it, load it while the nemesis works, heal, resolve, check.

The phases, in order:
1. start the stack, an operator's websocket on each push endpoint, and fund
   every wallet in every currency;
2. for the run's duration, M clients send random operations while the
   nemesis injects faults;
3. heal everything and wait until every gateway answers its health check;
4. resolve every operation whose outcome is unknown, by its transaction id or
   by replaying its key;
5. read the final state (balances and histories over the API, the journal
   from the database) and check it against what the clients recorded.
"""

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from chaos import observe
from chaos.checker import check, summarise
from chaos.clients import Callers, Client, Counts
from chaos.nemesis import GAP_S, Nemesis
from chaos.operations import FUNDING_MINOR, random_operations
from chaos.processes import until
from chaos.records import ACKNOWLEDGED, HOLD_KINDS, REJECTED, UNKNOWN, FinalState, Operation
from chaos.stacks import Embedded, Services

CURRENCIES = ["USD", "JPY"]  # two exponents (2 and 0): conservation is checked per currency
HEALTHY_TIMEOUT_S = 120  # a restarted broker, group rejoins, supervisor backoffs
RESOLVERS = 16  # unknown outcomes resolved side by side after the run
SETTLE_S = 2.0  # lets the last events of the resolution reach the websockets
OPERATIONS_PER_CLIENT_MAX = 1_000_000  # a bound on each client's loop, never reached
TOKEN_TTL_MARGIN_S = 3600
TIMELINE_STEP_S = 5


@dataclass(frozen=True)
class Settings:
    duration_s: float
    wallets: int
    clients: int
    seed: int
    fault_gap_s: tuple[float, float] = GAP_S


async def bank_test(stack: Services | Embedded, settings: Settings, secret: str) -> dict[str, Any]:
    rng = random.Random(settings.seed)  # the clients'; the nemesis has its own, so the same
    schedule = random.Random(settings.seed + 1)  # seed replays the same faults at the same times
    run_id = uuid.uuid4().hex[:8]
    wallets = [f"chaos-{run_id}-{n}" for n in range(settings.wallets)]
    callers = _callers(secret, wallets, settings.duration_s)
    started = time.monotonic()
    try:
        await stack.start()
        return await _exercise(stack, settings, (rng, schedule), wallets, callers, run_id,
                               started)
    finally:
        await stack.stop()


async def _exercise(stack: Services | Embedded, settings: Settings,
                    rngs: tuple[random.Random, random.Random], wallets: list[str],
                    callers: Callers, run_id: str, started: float) -> dict[str, Any]:
    rng, schedule = rngs
    token = callers.operator["Authorization"].removeprefix("Bearer ")
    listeners = [observe.Listener(url, token) for url in stack.websockets]
    listening = [asyncio.create_task(listener.run()) for listener in listeners]
    limits = httpx.Limits(max_connections=settings.clients * 2 + 8)
    async with httpx.AsyncClient(limits=limits) as http:
        digits = await observe.exponents(http, stack.gateways[0], callers.operator)
        counts = Counts()
        client = Client(http, stack.gateways, callers, digits, rng, counts)
        nemesis = Nemesis(stack, schedule, settings.fault_gap_s)
        operations, load_s = await _load(client, nemesis, settings, wallets, run_id, rng)
        await nemesis.heal_all()
        await until(stack.healthy, HEALTHY_TIMEOUT_S, "the stack was not healthy after the run")
        unknown = [op for op in operations if op.outcome == UNKNOWN]
        await _resolve(client, unknown)
        await asyncio.sleep(SETTLE_S)
        for task in listening:
            task.cancel()
        state = await observe.final_state(http, stack.gateways[0], wallets, callers.operator,
                                          digits)
    state.events = [event for listener in listeners for event in listener.events]
    state.journal = await asyncio.to_thread(stack.journal)
    by_check, details = summarise(check(operations, state))
    outcomes = Counter(op.outcome for op in operations)
    return {
        "configuration": stack.name, "duration_s": settings.duration_s,
        "load_s": round(load_s, 1), "seed": settings.seed, "wallets": settings.wallets,
        "clients": settings.clients, "operations": len(operations),
        "operations_per_s": round(len(operations) / load_s, 1),
        "acknowledged": outcomes[ACKNOWLEDGED], "rejected": outcomes[REJECTED],
        "unknown_after_run": len(unknown),
        "unknown_resolved": sum(op.resolved_after_run for op in unknown),
        "unresolved": outcomes[UNKNOWN], "retries": counts.retries,
        "answers": {str(status or "none"): n for status, n in sorted(counts.answers.items())},
        "faults": dict(sorted(nemesis.faults.items())), "fault_log": nemesis.log,
        f"settled_per_{TIMELINE_STEP_S}_s": timeline(operations, TIMELINE_STEP_S),
        "by_kind": dict(sorted(Counter(op.kind for op in operations).items())),
        "holds": hold_figures(operations, state),
        "websocket": {"events": len(state.events), "connections": [
            listener.connections for listener in listeners]},
        "violation_counts": dict(by_check), "violations": details,
        "total_s": round(time.monotonic() - started, 1),
    }


async def _load(client: Client, nemesis: Nemesis, settings: Settings, wallets: list[str],
                run_id: str, rng: random.Random) -> tuple[list[Operation], float]:
    """Funds every wallet, then M clients and the nemesis until the duration has passed."""
    operations = [Operation(f"{run_id}-fund-{number}", "deposit", wallet, currency,
                            FUNDING_MINOR)
                  for number, (wallet, currency) in enumerate(
                      (w, c) for w in wallets for c in CURRENCIES)]
    await asyncio.gather(*(client.perform(funding) for funding in operations))
    loaded = time.monotonic()
    until_s = loaded + settings.duration_s
    await asyncio.gather(nemesis.run(until_s), *(
        _client_loop(client, operations, f"{run_id}-{n}", wallets, until_s, rng, loaded)
        for n in range(settings.clients)))
    return operations, time.monotonic() - loaded


async def _client_loop(client: Client, operations: list[Operation], prefix: str,
                       wallets: list[str], until_s: float, rng: random.Random,
                       loaded: float) -> None:
    for number in range(OPERATIONS_PER_CLIENT_MAX):
        if time.monotonic() >= until_s:
            return
        batch = random_operations(rng, f"{prefix}-{number}", wallets, CURRENCIES, client.pool)
        operations.extend(batch)
        await asyncio.gather(*(_settle(client, op, loaded) for op in batch))


async def _settle(client: Client, op: Operation, loaded: float) -> None:
    await client.perform(op)
    if op.outcome != UNKNOWN:
        op.settled_at_s = time.monotonic() - loaded


def hold_figures(operations: list[Operation], state: FinalState) -> dict[str, Any]:
    """What the run did with holds: requests acknowledged and refused, and how holds ended."""
    told = Counter(op.kind for op in operations if op.kind in HOLD_KINDS
                   and op.outcome == ACKNOWLEDGED)
    refused = Counter(f"{op.kind} {answer.code}" for op in operations if op.kind in HOLD_KINDS
                      and op.outcome == REJECTED for answer in op.answers[-1:])
    ended = Counter(hold["status"] for hold in state.holds.values())
    ended["captured_partly"] = sum(hold["status"] == "captured" and
                                   hold["capturedAmount"] != hold["amount"]
                                   for hold in state.holds.values())
    return {"placed": told["hold"], "captured": told["capture"], "voided": told["void"],
            "raced": sum(op.key.endswith("-race") for op in operations),
            "refused": dict(sorted(refused.items())), "ended": dict(sorted(ended.items()))}


def timeline(operations: list[Operation], step_s: float) -> list[int]:
    """Outcomes learned in each step of the load, to set beside the fault log."""
    settled = [op.settled_at_s for op in operations if op.settled_at_s is not None]
    counts = Counter(int(at_s // step_s) for at_s in settled)
    return [counts[step] for step in range(max(counts, default=-1) + 1)]


async def _resolve(client: Client, unknown: list[Operation]) -> None:
    gate = asyncio.Semaphore(RESOLVERS)

    async def one(op: Operation) -> None:
        async with gate:
            await client.resolve(op)
    await asyncio.gather(*(one(op) for op in unknown))


def _callers(secret: str, wallets: list[str], duration_s: float) -> Callers:
    expires = int(time.time() + duration_s + TOKEN_TTL_MARGIN_S)

    def header(subject: str, role: str) -> dict[str, str]:
        claims = {"sub": subject, "role": role, "exp": expires}
        return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}
    return Callers(header("chaos-operator", "operator"),
                   {wallet: header(wallet, "user") for wallet in wallets})


def make_stack(name: str, scratch: Path, secret: str) -> Services | Embedded:
    return Services(scratch / name, secret) if name == "services" else Embedded(
        scratch / name, secret)
