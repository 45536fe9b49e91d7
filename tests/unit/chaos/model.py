"""A small model wallet: the final state a correct wallet leaves for a list of operations.

It applies the acknowledged operations in their order, as the ledger would
(a hold reserves money, a capture takes part or all of it out like a
payout, a void or an expiry releases it), and builds what the run reads at
the end: balances with their held and available amounts, histories, the
journal, every hold and the active ones, the websocket's events, and the
audit. Tests break one thing in it the way a buggy wallet would.
"""

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chaos.records import (
    ACKNOWLEDGED,
    HOLD_EXPIRY_DEFAULT_S,
    MONEY_KINDS,
    Answer,
    FinalState,
    Journal,
    JournalEntry,
    Operation,
    minor,
)

EXPONENTS = {"USD": 2, "JPY": 0}
CREATED_AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
READ_AT = CREATED_AT + timedelta(minutes=5)
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MONEY_SIDES = {"deposit": ("system:deposits", None), "payout": (None, "system:payouts"),
               "capture": (None, "system:payouts")}  # (debited, credited); None: the wallet


def text(amount_minor: int, currency: str) -> str:
    exponent, sign = EXPONENTS[currency], "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10 ** exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole}"


def acknowledged(key: str, kind: str, wallet: str, amount: int, currency: str = "USD",
                 to: str | None = None, hold: str | None = None, **fields: Any) -> Operation:
    """An operation its client heard acknowledged: 201 with its transaction (or hold), or a
    void's 200 with the hold."""
    named = None if kind == "void" else f"hold-{key}" if kind == "hold" else f"tx-{key}"
    op = Operation(key, kind, wallet, currency, amount, counterparty=to, outcome=ACKNOWLEDGED,
                   transaction_id=named, hold_id=f"hold-{key}" if kind == "hold" else hold,
                   **fields)
    op.answers.append(Answer(op.acknowledging, named))
    return op


def refused(key: str, kind: str, wallet: str, amount: int, currency: str = "USD",
            hold: str | None = None, code: str = "insufficient_funds") -> Operation:
    status = 409 if code == "hold_not_active" else 422
    op = Operation(key, kind, wallet, currency, amount, hold_id=hold, outcome="rejected")
    op.answers.append(Answer(status, code=code))
    return op


@dataclass
class Model:
    balances: Counter[tuple[str, str]] = field(default_factory=Counter)
    held: Counter[tuple[str, str]] = field(default_factory=Counter)
    histories: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"alice": [], "bob": []})
    entries: list[JournalEntry] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, op: Operation) -> None:
        """As the ledger posts: a capture releases its whole hold, then pays out its amount."""
        assert op.transaction_id is not None or op.kind == "void"
        hold = self.holds[op.hold_id] if op.kind in ("capture", "void") and op.hold_id else None
        if hold is not None:
            self._release(hold)
        if op.kind == "transfer":
            assert op.counterparty is not None
            self._move(op, op.wallet, op.counterparty)
        elif op.kind in MONEY_SIDES:
            debited, credited = MONEY_SIDES[op.kind]
            self._move(op, debited or op.wallet, credited or op.wallet)
        if op.kind == "hold":
            self._place(op)
        elif hold is not None:
            self._ended(hold, "captured" if op.kind == "capture" else "voided",
                        op.amount_minor if op.kind == "capture" else 0, CREATED_AT)

    def expire(self, hold_id: str) -> None:
        hold = self.holds[hold_id]
        self._release(hold)
        self._ended(hold, "expired", 0, datetime.strptime(hold["expiresAt"], FORMAT))

    def _move(self, op: Operation, debited: str, credited: str) -> None:
        assert op.transaction_id is not None
        for account, sign in ((debited, -1), (credited, 1)):
            key = (account, op.currency)
            self.balances[key] += sign * op.amount_minor
            self.entries.append(JournalEntry(len(self.entries) + 1, op.transaction_id, account,
                                             op.currency, sign * op.amount_minor,
                                             self.balances[key]))
            if not account.startswith("system:"):
                self._history(op, account, sign)

    def _history(self, op: Operation, account: str, sign: int) -> None:
        entry_type = op.kind if op.kind != "transfer" else \
            "transfer_out" if sign < 0 else "transfer_in"
        item: dict[str, Any] = {
            "id": op.transaction_id, "userId": account, "type": entry_type,
            "amount": text(op.amount_minor, op.currency), "currency": op.currency,
            "balanceAfter": text(self.balances[(account, op.currency)], op.currency),
            "status": "committed", "createdAt": CREATED_AT.strftime(FORMAT)}
        if op.kind == "capture":
            item["holdId"] = op.hold_id
        item |= _labels(op)
        self.histories[account].append(item)
        self.events.append({"event": "balanceUpdated", "userId": account,
                            "currency": op.currency, "balance": item["balanceAfter"],
                            **self._amounts(account, op.currency), "transaction": dict(item)})

    def _place(self, op: Operation) -> None:
        assert op.hold_id is not None
        expires_s = op.expires_in_s or HOLD_EXPIRY_DEFAULT_S
        hold = {"id": op.hold_id, "userId": op.wallet, "amount": text(op.amount_minor,
                op.currency), "currency": op.currency, "status": "held",
                "capturedAmount": text(0, op.currency),
                "expiresAt": (CREATED_AT + timedelta(seconds=expires_s)).strftime(FORMAT),
                "createdAt": CREATED_AT.strftime(FORMAT),
                "updatedAt": CREATED_AT.strftime(FORMAT)} | _labels(op)
        self.holds[op.hold_id] = hold
        self.held[(op.wallet, op.currency)] += op.amount_minor
        self._hold_event(hold)

    def _release(self, hold: dict[str, Any]) -> None:
        key = (hold["userId"], hold["currency"])
        self.held[key] -= minor(hold["amount"], hold["currency"], EXPONENTS)

    def _ended(self, hold: dict[str, Any], status: str, captured: int, at: datetime) -> None:
        hold.update(status=status, capturedAmount=text(captured, hold["currency"]),
                    updatedAt=at.strftime(FORMAT))
        self._hold_event(hold)

    def _hold_event(self, hold: dict[str, Any]) -> None:
        self.events.append({"event": "holdUpdated", "hold": dict(hold), "userId": hold["userId"],
                            "currency": hold["currency"],
                            "balance": text(self.balances[(hold["userId"], hold["currency"])],
                                            hold["currency"]),
                            **self._amounts(hold["userId"], hold["currency"])})

    def _amounts(self, account: str, currency: str) -> dict[str, str]:
        key = (account, currency)
        return {"available": text(self.balances[key] - self.held[key], currency),
                "held": text(self.held[key], currency)}

    def state(self, committed: set[str]) -> FinalState:
        users = {place: amount for place, amount in self.balances.items()
                 if not place[0].startswith("system:")}
        keys = set(users) | {key for key, amount in self.held.items() if amount}
        active = {wallet: [dict(hold) for hold in reversed(self.holds.values())
                           if hold["userId"] == wallet and hold["status"] == "held"]
                  for wallet in self.histories}
        # at-least-once delivery: the first two events arrive twice, unchanged
        events = self.events + copy.deepcopy(self.events[:2])
        return FinalState(
            EXPONENTS, users, self.histories, events,
            Journal(self.entries, dict(self.balances), committed),
            held={key: self.held[key] for key in keys},
            available={key: self.balances[key] - self.held[key] for key in keys},
            holds=copy.deepcopy(self.holds), active_holds=active,
            read_at=READ_AT.strftime(FORMAT),
            audit={"accountsChecked": len(self.balances), "entriesChecked": len(self.entries),
                   "problems": []})


def _labels(op: Operation) -> dict[str, Any]:
    """What a transaction or hold carries of its request's labels: nothing, if none."""
    labels: dict[str, Any] = {}
    if op.reference is not None:
        labels["reference"] = op.reference
    if op.metadata is not None:
        labels["metadata"] = dict(op.metadata)
    return labels


def model(operations: list[Operation], expired: tuple[str, ...] = ()) -> FinalState:
    """What a correct wallet holds after the acknowledged operations, in their order, and
    the expiry of the holds named (after them all)."""
    wallet = Model()
    for op in operations:
        if op.outcome == ACKNOWLEDGED:
            wallet.apply(op)
    for hold_id in expired:
        wallet.expire(hold_id)
    committed = {op.transaction_id for op in operations if op.outcome == ACKNOWLEDGED
                 and op.kind in MONEY_KINDS and op.transaction_id}
    return wallet.state(committed)
