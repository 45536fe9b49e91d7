"""The bank test's clients: random deposits, payouts and transfers, retried the way a careful
client retries, and every answer recorded.

Each operation has its own Idempotency-Key. After a timeout, a dropped
connection, a 5xx or a 429, the client sends the same request with the same
key again, to any gateway, after a jittered backoff, a bounded number of
times. A 202 is pending: the client polls its Location for a while, and
sends the request again if the command was lost (404) or is still pending.
What it could not settle stays unknown, for `resolve` after the run.
"""

import asyncio
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.records import ACKNOWLEDGED, NO_ANSWER, REJECTED, Answer, Operation

ATTEMPTS_MAX = 6  # sends of one request during the run; then it is unknown until the end
RESOLVE_ATTEMPTS_MAX = 40  # after the run nothing is broken: a replay answers, or it is a bug
BACKOFF_S_MIN, BACKOFF_S_MAX = 0.05, 2.0
RETRY_AFTER_S_MAX = 2.0
POLLS_MAX = 10  # polls of a 202's Location before the request is sent again
POLL_INTERVAL_S = 0.5
REQUEST_TIMEOUT_S = 10.0  # longer than the wallet's own wait for a commit (5 s)
RETRIED = frozenset({NO_ANSWER, 429, 500, 502, 503, 504})
KINDS = ("deposit", "payout", "transfer")
KIND_WEIGHTS = (4, 2, 4)  # deposits keep enough money about for payouts and transfers to pass
AMOUNT_MINOR_MAX = 20_000
FUNDING_MINOR = 100_000  # each wallet's first deposit in each currency


@dataclass
class Counts:
    retries: int = 0  # requests sent again, during the run and after it
    answers: Counter[int] = field(default_factory=Counter)  # by status; 0: no answer


@dataclass(frozen=True)
class Callers:
    """Authorization headers: the operator pays in and out; a transfer comes from its sender."""

    operator: Mapping[str, str]
    users: Mapping[str, Mapping[str, str]]

    def of(self, op: Operation) -> Mapping[str, str]:
        return self.users[op.wallet] if op.kind == "transfer" else self.operator


def random_operation(rng: random.Random, key: str, wallets: list[str],
                     currencies: list[str]) -> Operation:
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    amount, currency = rng.randint(1, AMOUNT_MINOR_MAX), rng.choice(currencies)
    if kind == "transfer":
        sender, receiver = rng.sample(wallets, 2)
        return Operation(key, kind, sender, currency, amount, counterparty=receiver)
    return Operation(key, kind, rng.choice(wallets), currency, amount)


def body_of(op: Operation, exponents: Mapping[str, int]) -> dict[str, str]:
    amount = decimal_text(op.amount_minor, exponents[op.currency])
    if op.kind == "transfer":
        assert op.counterparty is not None
        return {"fromUserId": op.wallet, "toUserId": op.counterparty, "amount": amount,
                "currency": op.currency}
    return {"userId": op.wallet, "amount": amount, "currency": op.currency}


def decimal_text(amount_minor: int, exponent: int) -> str:
    whole, fraction = divmod(amount_minor, 10 ** exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


class Client:
    def __init__(self, http: httpx.AsyncClient, gateways: list[str], callers: Callers,
                 exponents: Mapping[str, int], rng: random.Random, counts: Counts) -> None:
        self.http, self.gateways, self.callers = http, gateways, callers
        self.exponents, self.rng, self.counts = exponents, rng, counts

    async def perform(self, op: Operation, attempts_max: int = ATTEMPTS_MAX) -> None:
        """Sends until the outcome is known or the attempts are spent."""
        for attempt in range(attempts_max):
            if attempt:
                self.counts.retries += 1
            status, body, headers = await self._send(op)
            if status == 202:
                if await self._poll(op, body, headers):
                    return
            elif self._settled(op, status, body, headers) or status not in RETRIED:
                return
            await asyncio.sleep(self._backoff_s(attempt, status, headers))

    async def resolve(self, op: Operation) -> None:
        """After the run: look the transaction up, else replay the key until it answers."""
        if op.transaction_id is not None:
            status, body, _ = await self._get(f"/wallet/transactions/{op.transaction_id}")
            if status == 200:
                self._looked_up(op, body)
        if op.outcome == "unknown":
            await self.perform(op, RESOLVE_ATTEMPTS_MAX)
        op.resolved_after_run = op.outcome != "unknown"

    def _settled(self, op: Operation, status: int, body: Any,
                 headers: Mapping[str, str]) -> bool:
        replayed = headers.get("idempotent-replayed") == "true"
        transaction_id = body.get("id") if isinstance(body, dict) else None
        op.answers.append(Answer(status, transaction_id if status in (201, 202) else None,
                                 replayed))
        if status == 201:
            op.outcome, op.transaction_id = ACKNOWLEDGED, str(transaction_id)
        elif status == 422:
            op.outcome = REJECTED
        return status in (201, 422)

    async def _poll(self, op: Operation, body: Any, headers: Mapping[str, str]) -> bool:
        """True once the Location says committed or rejected; False: send the request again."""
        self._settled(op, 202, body, headers)
        op.transaction_id = str(body["id"])
        location = headers.get("location", f"/wallet/transactions/{op.transaction_id}")
        for _ in range(POLLS_MAX):
            await asyncio.sleep(POLL_INTERVAL_S)
            status, looked, _ = await self._get(location)
            if status == 404:
                return False  # the log lost it (a broker or process restart): send it again
            if status == 200 and self._looked_up(op, looked):
                return True
            if status not in RETRIED | {200}:
                op.answers.append(Answer(status, first_hand=False))
                return False
        return False

    def _looked_up(self, op: Operation, body: Any) -> bool:
        if body.get("status") == "committed":
            op.outcome, op.transaction_id = ACKNOWLEDGED, str(body["id"])
            op.answers.append(Answer(201, op.transaction_id, first_hand=False))
        elif body.get("status") == "rejected":
            op.outcome = REJECTED
            op.answers.append(Answer(422, first_hand=False))
        return op.outcome != "unknown"

    async def _send(self, op: Operation) -> tuple[int, Any, Mapping[str, str]]:
        headers = {**self.callers.of(op), "Idempotency-Key": op.key}
        return await self._call("POST", f"/wallet/{op.kind}", headers,
                                body_of(op, self.exponents))

    async def _get(self, path: str) -> tuple[int, Any, Mapping[str, str]]:
        return await self._call("GET", path, self.callers.operator, None)

    async def _call(self, method: str, path: str, headers: Mapping[str, str],
                    body: dict[str, str] | None) -> tuple[int, Any, Mapping[str, str]]:
        gateway = self.rng.choice(self.gateways)
        try:
            reply = await self.http.request(method, f"{gateway}{path}", headers=headers,
                                            json=body, timeout=REQUEST_TIMEOUT_S)
            parsed = reply.json() if reply.content else {}
        except (httpx.HTTPError, ValueError):
            self.counts.answers[NO_ANSWER] += 1
            return NO_ANSWER, {}, {}
        self.counts.answers[reply.status_code] += 1
        return reply.status_code, parsed, reply.headers

    def _backoff_s(self, attempt: int, status: int, headers: Mapping[str, str]) -> float:
        """Full jitter (capped exponential), or what a 429 asks for, within bounds."""
        if status == 429 and headers.get("retry-after", "").isdigit():
            return min(RETRY_AFTER_S_MAX, float(headers["retry-after"]))
        return self.rng.uniform(BACKOFF_S_MIN, min(BACKOFF_S_MAX, BACKOFF_S_MIN * 2 ** attempt))
