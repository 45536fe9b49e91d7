"""The bank test's clients: each operation sent, retried the way a careful client retries, and
every answer recorded.

Each operation has its own Idempotency-Key. After a timeout, a dropped
connection, a 5xx or a 429, the client sends the same request with the same
key again, to any gateway, after a jittered backoff, a bounded number of
times. A 202 is pending: the client polls its Location for a while, and
sends the request again if the command was lost (404) or is still pending.
What it could not settle stays unknown, for `resolve` after the run.

Holds, captures and voids follow the same rules. A 409 `hold_not_active`
(the hold was captured, voided or expired) and a 422 are definite refusals;
a void is acknowledged with 200 and the hold, a capture with 201 and its
transaction. A hold its client was told is placed joins the pool that later
captures and voids draw on.
"""

import asyncio
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.operations import HoldPool, body_of, path_of
from chaos.records import (
    ACKNOWLEDGED,
    HOLD_NOT_ACTIVE,
    NO_ANSWER,
    REJECTED,
    UNKNOWN,
    Answer,
    Operation,
)

ATTEMPTS_MAX = 6  # sends of one request during the run; then it is unknown until the end
RESOLVE_ATTEMPTS_MAX = 40  # after the run nothing is broken: a replay answers, or it is a bug
BACKOFF_S_MIN, BACKOFF_S_MAX = 0.05, 2.0
RETRY_AFTER_S_MAX = 2.0
POLLS_MAX = 10  # polls of a 202's Location before the request is sent again
POLL_INTERVAL_S = 0.5
REQUEST_TIMEOUT_S = 10.0  # longer than the wallet's own wait for a commit (5 s)
RETRIED = frozenset({NO_ANSWER, 429, 500, 502, 503, 504})
# A lookup's rejection, as the status its request would have been answered with.
REFUSAL_STATUS = {HOLD_NOT_ACTIVE: 409, "idempotency_key_reused": 409}
MONEY_LOOKUP = ("deposit", "payout", "transfer")  # looked up as a committed transaction


@dataclass
class Counts:
    retries: int = 0  # requests sent again, during the run and after it
    answers: Counter[int] = field(default_factory=Counter)  # by status; 0: no answer


@dataclass(frozen=True)
class Callers:
    """Authorization headers: the operator pays in and out; a transfer comes from its sender;
    holds, captures and voids from the owner, or an operator when the operation says so."""

    operator: Mapping[str, str]
    users: Mapping[str, Mapping[str, str]]

    def of(self, op: Operation) -> Mapping[str, str]:
        if op.kind in ("deposit", "payout") or op.as_operator:
            return self.operator
        return self.users[op.wallet]


class Client:
    def __init__(self, http: httpx.AsyncClient, gateways: list[str], callers: Callers,
                 exponents: Mapping[str, int], rng: random.Random, counts: Counts,
                 pool: HoldPool | None = None) -> None:
        self.http, self.gateways, self.callers = http, gateways, callers
        self.exponents, self.rng, self.counts = exponents, rng, counts
        self.pool = pool if pool is not None else HoldPool()

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
        """After the run: look the outcome up where a 202 said, else replay the key until it
        answers."""
        if op.command_id is not None:
            status, body, _ = await self._get(f"/wallet/transactions/{op.command_id}")
            if status == 200:
                self._looked_up(op, body)
        if op.outcome == UNKNOWN:
            await self.perform(op, RESOLVE_ATTEMPTS_MAX)
        op.resolved_after_run = op.outcome != UNKNOWN

    def _settled(self, op: Operation, status: int, body: Any,
                 headers: Mapping[str, str]) -> bool:
        replayed = headers.get("idempotent-replayed") == "true"
        body = body if isinstance(body, dict) else {}
        named = _named(op, status, body)
        op.answers.append(Answer(status, named, replayed, code=_error_code(body)))
        if status == op.acknowledging:
            self._acknowledge(op, named)
        elif status in op.refusing:
            op.outcome = REJECTED
        return status == op.acknowledging or status in op.refusing

    def _acknowledge(self, op: Operation, named: str | None) -> None:
        op.outcome, op.transaction_id = ACKNOWLEDGED, named
        if op.kind == "hold" and named is not None:
            op.hold_id = named
            self.pool.add(op)

    async def _poll(self, op: Operation, body: Any, headers: Mapping[str, str]) -> bool:
        """True once the Location says committed or rejected; False: send the request again."""
        self._settled(op, 202, body, headers)
        op.command_id = str(body["id"])
        location = headers.get("location", f"/wallet/transactions/{op.command_id}")
        for _ in range(POLLS_MAX):
            await asyncio.sleep(POLL_INTERVAL_S)
            status, looked, _ = await self._get(location)
            if status == 404:
                return False  # the log lost it (a broker or process restart): send it again
            if status == 200 and self._looked_up(op, looked):
                return True
            if status not in RETRIED | {200}:
                op.answers.append(Answer(status, first_hand=False, code=_error_code(looked)))
                return False
        return False

    def _looked_up(self, op: Operation, body: Any) -> bool:
        """What a lookup answers: the write's own answer once it is decided (a transaction, a
        hold, or a capture's hold and transaction), a rejection, or pending."""
        body = body if isinstance(body, dict) else {}
        if body.get("status") == "rejected":
            code = _error_code(body)
            op.outcome = REJECTED
            op.answers.append(Answer(REFUSAL_STATUS.get(code or "", 422), first_hand=False,
                                     code=code))
        elif body.get("status") != "pending" and _decided(op, body):
            named = _named(op, op.acknowledging, body)
            self._acknowledge(op, named)
            op.answers.append(Answer(op.acknowledging, named, first_hand=False))
        return op.outcome != UNKNOWN

    async def _send(self, op: Operation) -> tuple[int, Any, Mapping[str, str]]:
        headers = {**self.callers.of(op), "Idempotency-Key": op.key}
        return await self._call("POST", path_of(op), headers, body_of(op, self.exponents))

    async def _get(self, path: str) -> tuple[int, Any, Mapping[str, str]]:
        return await self._call("GET", path, self.callers.operator, None)

    async def _call(self, method: str, path: str, headers: Mapping[str, str],
                    body: dict[str, Any] | None) -> tuple[int, Any, Mapping[str, str]]:
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


def _named(op: Operation, status: int, body: Mapping[str, Any]) -> str | None:
    """The id an answer names: a 202's command, or what the acknowledgement names (see
    Operation). A void's 202 names its command, which is not the hold its 200 names."""
    if op.kind == "void":
        return None
    if status == op.acknowledging and op.kind == "capture":
        transaction = body.get("transaction")
        return str(transaction["id"]) if isinstance(transaction, dict) else None
    return str(body["id"]) if status in (202, op.acknowledging) and "id" in body else None


def _decided(op: Operation, body: Mapping[str, Any]) -> bool:
    """A lookup's answer is the write's acknowledgement."""
    if op.kind in MONEY_LOOKUP:
        return body.get("status") == "committed"
    if op.kind == "capture":
        return "transaction" in body
    return "expiresAt" in body  # a Hold: placed, or voided


def _error_code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error["code"]) if isinstance(error, dict) and "code" in error else None
