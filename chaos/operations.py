"""What the clients ask: a random mix of deposits, payouts and transfers, with holds, captures
and voids beside them, and each operation as the request the API takes.

Money operations dominate the mix. A hold draws on the wallet's available
balance, with a short expiry (2 to 10 s) often enough that holds expire
during a run, in order with the wallet's other commands. Clients capture
(whole or in part, and now and then for more than the hold, which must be
refused) and void holds they were told are placed, taken from a pool all
clients share; now and then one client races a capture against a void or
another capture of the same hold, or a hold stays in the pool after it was
taken, so that a later request finds it ended. Some writes carry a
`reference` and `metadata`, which their transactions and holds must carry
back (a capture, its hold's).
"""

import random
from collections.abc import Mapping
from typing import Any

from chaos.records import Operation

KINDS = ("deposit", "payout", "transfer", "hold", "capture", "void")
# Deposits keep enough money about for payouts, transfers and holds to pass; holds, captures
# and voids are a fifth of the requests, and a capture moves money too.
KIND_WEIGHTS = (8, 4, 8, 3, 2, 1)
AMOUNT_MINOR_MAX = 20_000
HOLD_AMOUNT_MINOR_MAX = 5_000  # holds still active at the end must leave payouts room
FUNDING_MINOR = 100_000  # each wallet's first deposit in each currency
# A hold's expiresInSeconds: short (expires during the run), an hour, or none (7 days).
SHORT_EXPIRY_S = (2, 10)
HOUR_S = 3600
EXPIRY_WEIGHTS = (4, 3, 3)  # short, an hour, the default
# A capture without an amount (the whole hold), of the whole amount, of part of it, or of
# one minor unit more than the hold (a definite refusal, 422 amount_exceeds_hold).
CAPTURE_WAYS = ("whole", "full_amount", "partial", "too_much")
CAPTURE_WEIGHTS = (4, 2, 3, 1)
RACE_SHARE = 0.2  # of captures and voids: raced against another ending of the same hold
SHARED_AGAIN_SHARE = 0.1  # a hold taken for ending stays in the pool for another request
BY_OPERATOR_SHARE = 0.3  # holds, captures and voids sent by an operator, not the owner
LABELLED_SHARE = 0.3  # writes that carry a reference and metadata, to be found as sent
POOLED_MAX = 2_000  # holds awaiting an ending; the oldest are let go (they expire or stay)


class HoldPool:
    """Holds their clients were told are placed, for later captures and voids to end."""

    def __init__(self) -> None:
        self._holds: list[Operation] = []

    def add(self, hold: Operation) -> None:
        assert hold.hold_id is not None, "only a placed hold can be ended"
        self._holds.append(hold)
        if len(self._holds) > POOLED_MAX:
            self._holds.pop(0)

    def take(self, rng: random.Random) -> Operation | None:
        if not self._holds:
            return None
        index = rng.randrange(len(self._holds))
        hold = self._holds[index]
        if rng.random() >= SHARED_AGAIN_SHARE:
            self._holds.pop(index)
        return hold


def random_operations(rng: random.Random, key: str, wallets: list[str], currencies: list[str],
                      pool: HoldPool) -> list[Operation]:
    """One operation, or two that race to end the same hold."""
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    if kind in ("capture", "void"):
        hold = pool.take(rng)
        if hold is not None:
            return _endings(rng, key, kind, hold)
        kind = "hold"  # none to end yet
    currency = rng.choice(currencies)
    if kind == "hold":
        op = _hold(rng, key, rng.choice(wallets), currency)
    elif kind == "transfer":
        sender, receiver = rng.sample(wallets, 2)
        op = Operation(key, kind, sender, currency, rng.randint(1, AMOUNT_MINOR_MAX),
                       counterparty=receiver)
    else:
        op = Operation(key, kind, rng.choice(wallets), currency,
                       rng.randint(1, AMOUNT_MINOR_MAX))
    if rng.random() < LABELLED_SHARE:
        op.reference, op.metadata = f"ref-{key}", {"kind": kind, "run.key": key}
    return [op]


def _hold(rng: random.Random, key: str, wallet: str, currency: str) -> Operation:
    expiry = rng.choices(("short", "hour", "default"), EXPIRY_WEIGHTS)[0]
    expires_in_s = {"short": rng.randint(*SHORT_EXPIRY_S), "hour": HOUR_S, "default": None}
    return Operation(key, "hold", wallet, currency, rng.randint(1, HOLD_AMOUNT_MINOR_MAX),
                     expires_in_s=expires_in_s[expiry],
                     as_operator=rng.random() < BY_OPERATOR_SHARE)


def _endings(rng: random.Random, key: str, kind: str, hold: Operation) -> list[Operation]:
    endings = [_ending(rng, key, kind, hold)]
    if rng.random() < RACE_SHARE:
        endings.append(_ending(rng, f"{key}-race", rng.choice(("capture", "void")), hold))
    return endings


def _ending(rng: random.Random, key: str, kind: str, hold: Operation) -> Operation:
    amount, whole = hold.amount_minor, False
    if kind == "capture":
        way = rng.choices(CAPTURE_WAYS, CAPTURE_WEIGHTS)[0]
        whole = way == "whole"
        if way == "partial" and amount > 1:
            amount = rng.randint(1, amount - 1)
        elif way == "too_much":
            amount += 1
    return Operation(key, kind, hold.wallet, hold.currency, amount, hold_id=hold.hold_id,
                     whole=whole, as_operator=rng.random() < BY_OPERATOR_SHARE,
                     reference=hold.reference if kind == "capture" else None,
                     metadata=hold.metadata if kind == "capture" else None)


def path_of(op: Operation) -> str:
    if op.kind in ("capture", "void"):
        return f"/wallet/holds/{op.hold_id}/{op.kind}"
    return "/wallet/holds" if op.kind == "hold" else f"/wallet/{op.kind}"


def body_of(op: Operation, exponents: Mapping[str, int]) -> dict[str, Any] | None:
    """What the request sends; a void sends nothing, a whole capture no amount, and neither
    sends labels (a capture's are its hold's)."""
    amount = decimal_text(op.amount_minor, exponents[op.currency])
    if op.kind == "void":
        return None
    if op.kind == "capture":
        return {} if op.whole else {"amount": amount, "currency": op.currency}
    body: dict[str, Any] = {"userId": op.wallet, "amount": amount, "currency": op.currency}
    if op.kind == "transfer":
        assert op.counterparty is not None
        body = {"fromUserId": op.wallet, "toUserId": op.counterparty, "amount": amount,
                "currency": op.currency}
    if op.expires_in_s is not None:
        body["expiresInSeconds"] = op.expires_in_s
    if op.reference is not None:
        body["reference"] = op.reference
    if op.metadata is not None:
        body["metadata"] = op.metadata
    return body


def decimal_text(amount_minor: int, exponent: int) -> str:
    whole, fraction = divmod(amount_minor, 10 ** exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)
