"""The gateway's service: authorise, append to the log, wait for the outcome; and reads.

Idempotency works in two layers. The command id is derived from the caller
and their Idempotency-Key, so a retry is the *same* command: if its outcome is
already recorded it is replayed at once, and if it is still in flight the
consumer's per-id check applies it once however many copies arrive.

Every submission also carries an attempt id of its own, and the outcome
records the attempt that applied it: concurrent copies all receive the one
outcome, and exactly the copy whose attempt it names is not a replay.

Every method is a coroutine: a write waiting for its commit is a future on
the event loop, and each blocking adapter call goes through its `Offload`.

A hold is changed by its id, but its commands are keyed by its wallet: the
gateway reads the hold first, and builds the capture or void from the
hold's own wallet, currency and amount (`capture_of`, `void_of`).
"""

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from wallet.domain.access import Principal
from wallet.domain.codec import HOLD_ID, encode_envelope
from wallet.domain.commands import (
    CaptureHold,
    Envelope,
    LedgerCommand,
    VoidHold,
    request_hash,
)
from wallet.domain.errors import IdempotencyKeyReused, NotFound, OutcomeUnknown, Unavailable
from wallet.domain.events import CommandRejected, HoldUpdated, Outcome, TransactionCommitted
from wallet.domain.holds import UNKNOWN_HOLD, Hold
from wallet.domain.money import Currency, ExactDecimal, currency_of
from wallet.service_layer.audit import AuditReport, verify_journal
from wallet.service_layer.offload import INLINE, Offloads
from wallet.service_layer.ports import (
    AmountRange,
    BalanceCache,
    CommandLog,
    HistoryEntry,
    HistoryQuery,
    HoldQuery,
    LedgerStore,
    LogFull,
    PendingCommands,
    StoredHold,
    WalletBalances,
)
from wallet.service_layer.waiters import OutcomeWaiters, Waiter

STORE_CHECK_INTERVAL_MS = 500
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1f43-5a0b-4c8e-9d43-3f7a2d6b9e10")
_KEY_REUSED = IdempotencyKeyReused.code
# The cache keeps one map per wallet: held money goes in it under keys no currency code can
# take (codes are three letters), so one entry still answers balances and holds together.
HELD_PREFIX = "held:"


@dataclass(frozen=True)
class Submitted:
    command_id: str
    outcome: Outcome | None  # None: still pending when the wait ended
    replayed: bool
    request_hash: str = ""  # what a 202's Location carries, so it reports only this request


@dataclass(frozen=True)
class HistoryFilters:
    query: HistoryQuery  # amount_ranges are derived here, from the two bounds below
    amount_min: ExactDecimal | None = None
    amount_max: ExactDecimal | None = None


class WalletService:
    def __init__(
        self, store: LedgerStore, log: CommandLog, cache: BalanceCache,
        waiters: OutcomeWaiters, wait_for_commit_ms: int,
        pending: PendingCommands | None = None,  # None: one gateway, its waiters know it all
        offloads: Offloads = INLINE,  # tests' fakes answer inline; bootstrap chooses otherwise
    ) -> None:
        self._store, self._log, self._cache = store, log, cache
        self._waiters, self._wait_for_commit_ms = waiters, wait_for_commit_ms
        self._pending, self._offloads = pending, offloads

    async def submit(
        self, principal: Principal, command: LedgerCommand, idempotency_key: str | None
    ) -> Submitted:
        principal.authorise(command)
        envelope = Envelope(_command_id(principal, idempotency_key), request_hash(command), command,
                            str(uuid.uuid4()))
        # Register before looking: an outcome published between the look and the
        # registration would otherwise be missed, and a retry would wait out its deadline.
        waiter = self._waiters.register(envelope.command_id, envelope.request_hash,
                                        principal.subject)
        try:
            earlier = await self._offloads.store(
                self._store.outcome, envelope.command_id) if idempotency_key else None
            if earlier is not None:
                outcome = _replayable(envelope.request_hash, earlier)
                return Submitted(envelope.command_id, outcome, True, envelope.request_hash)
            return await self._append_and_wait(envelope, waiter)
        finally:
            self._waiters.release(waiter)

    async def _append_and_wait(self, envelope: Envelope, waiter: Waiter) -> Submitted:
        try:
            await self._offloads.log(
                self._log.append, envelope.command.wallet_id, encode_envelope(envelope))
        except LogFull as exc:
            raise Unavailable("the command log is full; retry with the same key") from exc
        outcome = await self._await(envelope, waiter)
        if outcome is None:
            self._waiters.remember_late(waiter)
            if self._pending is not None:
                await self._offloads.cache(
                    self._pending.remember, envelope.command_id, waiter.owner)
        if isinstance(outcome, CommandRejected) and outcome.rejection.code == _KEY_REUSED:
            raise IdempotencyKeyReused(outcome.rejection.message)
        # The event and the store name the attempt that applied: any other copy is a replay.
        replayed = outcome is not None and outcome.attempt_id != envelope.attempt_id
        return Submitted(envelope.command_id, outcome, replayed, envelope.request_hash)

    async def _await(self, envelope: Envelope, waiter: Waiter) -> Outcome | None:
        """Waits for the event, and asks the store now and then in case events are lost.

        Events cross processes through pub/sub; while it is down they never
        come, yet the consumer still commits. Checking the store every
        STORE_CHECK_INTERVAL_MS turns a pub/sub outage into a little latency
        instead of a 202 for every write.
        """
        deadline = time.monotonic() + self._wait_for_commit_ms / 1000
        for _ in range(self._wait_for_commit_ms // STORE_CHECK_INTERVAL_MS + 1):
            remaining_ms = max(0.0, (deadline - time.monotonic()) * 1000)
            outcome = await waiter.wait(round(min(STORE_CHECK_INTERVAL_MS, remaining_ms)))
            if outcome is None:
                outcome = await self._recorded_if_reachable(envelope)
            if outcome is not None or remaining_ms <= STORE_CHECK_INTERVAL_MS:
                return outcome
        return None

    async def _recorded_if_reachable(self, envelope: Envelope) -> Outcome | None:
        """The command is in the log by now: a store outage must not turn it into a 503."""
        try:
            return await self._recorded(envelope)
        except Unavailable:
            return None

    async def _recorded(self, envelope: Envelope) -> Outcome | None:
        """The event may have been missed (a pub/sub hiccup); the store has the truth."""
        earlier = await self._offloads.store(self._store.outcome, envelope.command_id)
        return None if earlier is None else _replayable(envelope.request_hash, earlier)

    async def balances(
        self, principal: Principal, user_id: str, at: datetime | None = None
    ) -> WalletBalances:
        """Now (through the cache), or as they stood at `at` (from the store: the past is
        not cached, and is one index seek per currency)."""
        principal.authorise_read(user_id)
        if at is not None:
            return await self._offloads.store(self._store.balances, user_id, at)
        cached = await self._offloads.cache(self._cache.get, user_id)
        if cached.balances is not None:
            return _unpacked(cached.balances)
        balances = await self._offloads.store(self._store.balances, user_id)
        await self._offloads.cache(self._cache.put, user_id, cached.generation, _packed(balances))
        return balances

    async def history(
        self, principal: Principal, filters: HistoryFilters
    ) -> tuple[list[HistoryEntry], bool]:
        """One page of entries, and whether another page follows."""
        query = filters.query
        principal.authorise_read(query.account_id)
        ranges = await self._amount_ranges(filters)
        if ranges == () and (filters.amount_min, filters.amount_max) != (None, None):
            return [], False  # a wallet with no currencies has nothing in any range
        entries = await self._offloads.store(
            self._store.history, replace(query, limit=query.limit + 1, amount_ranges=ranges))
        return entries[: query.limit], len(entries) > query.limit

    async def hold(self, principal: Principal, hold_id: str) -> Hold:
        """A hold its owner or an operator may see; to anyone else it does not exist."""
        found = await self._offloads.store(
            self._store.hold, hold_id) if HOLD_ID.fullmatch(hold_id) else None
        if found is None or not (principal.is_operator or found.user_id == principal.subject):
            raise NotFound(UNKNOWN_HOLD)
        return found

    async def holds(
        self, principal: Principal, query: HoldQuery
    ) -> tuple[list[StoredHold], bool]:
        """One page of holds, newest first, and whether another page follows."""
        principal.authorise_read(query.account_id)
        rows = await self._offloads.store(
            self._store.holds, replace(query, limit=query.limit + 1))
        return rows[: query.limit], len(rows) > query.limit

    async def verify(self, principal: Principal, user_id: str | None) -> AuditReport:
        """Recomputes the journal's chains and sums: this user's accounts, or every one."""
        principal.authorise_audit()
        return await self._offloads.scan(verify_journal, self._store, user_id)

    async def _amount_ranges(self, filters: HistoryFilters) -> tuple[AmountRange, ...]:
        if filters.amount_min is None and filters.amount_max is None:
            return ()
        query = filters.query
        codes = [query.currency] if query.currency else await self._offloads.store(
            self._store.currencies, query.account_id)
        return tuple(_amount_range(currency_of(code), filters) for code in codes)

    async def _pending_owner(self, command_id: str) -> str | None:
        """Who waits for this command here, or, failing that, at any other gateway."""
        owner = self._waiters.pending_owner(command_id)
        if owner is None and self._pending is not None:
            owner = await self._offloads.cache(self._pending.owner, command_id)
        return owner

    async def lookup(
        self, principal: Principal, command_id: str, request_hash: str | None = None
    ) -> Outcome | None:
        """A recorded outcome, or None while this gateway still waits for it.

        Requests that reuse one key share the command id, so a 202's Location
        also names its request: the outcome of another request under that id
        is a reused key, never this request's result.

        A Location (it carries `request_hash`) whose command nobody records or
        awaits is OutcomeUnknown, never a bare 404: its 202 promised an
        answer, and the answer is to retry with the same key. Whose it is
        changes nothing there, so a Location tells a stranger no more.
        """
        outcome = await self._offloads.store(self._store.outcome, command_id)
        if outcome is None:
            owner = await self._pending_owner(command_id)
            if owner is not None and (principal.is_operator or owner == principal.subject):
                return None
            raise _unknown(command_id, request_hash)
        if not principal.is_operator and principal.subject not in _parties(outcome):
            raise _unknown(command_id, request_hash)
        if request_hash is not None:
            _replayable(request_hash, outcome)
        return outcome


def _unknown(command_id: str, request_hash: str | None) -> NotFound | OutcomeUnknown:
    if request_hash is None:
        return NotFound(f"no transaction {command_id}")
    return OutcomeUnknown(
        "no outcome is recorded for this request and it is no longer pending: it may have "
        "been lost before it was stored. Retry the request with the same Idempotency-Key: it "
        "applies at most once, and answers with the first outcome if there was one")


def capture_of(hold: Hold, amount_minor: int | None) -> CaptureHold:
    """A capture of this hold: all of it unless an amount is given."""
    amount = hold.amount_minor if amount_minor is None else amount_minor
    return CaptureHold(hold.id, hold.user_id, amount, hold.currency)


def void_of(hold: Hold) -> VoidHold:
    return VoidHold(hold.id, hold.user_id, hold.amount_minor, hold.currency)


def _packed(balances: WalletBalances) -> dict[str, int]:
    return balances.balances | {HELD_PREFIX + code: minor for code, minor in balances.held.items()}


def _unpacked(cached: Mapping[str, int]) -> WalletBalances:
    balances = {code: minor for code, minor in cached.items() if not code.startswith(HELD_PREFIX)}
    held = {code.removeprefix(HELD_PREFIX): minor for code, minor in cached.items()
            if code.startswith(HELD_PREFIX)}
    return WalletBalances(balances, held)


def _command_id(principal: Principal, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{principal.subject}\n{idempotency_key}"))


def _replayable(request_hash: str, earlier: Outcome) -> Outcome:
    if earlier.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request")
    return earlier


def _parties(outcome: Outcome) -> Sequence[str]:
    if isinstance(outcome, TransactionCommitted):
        return [p.account_id for p in outcome.transaction.user_postings]
    if isinstance(outcome, HoldUpdated):
        return [outcome.change.hold.user_id]
    return [outcome.wallet_id]


def _amount_range(currency: Currency, filters: HistoryFilters) -> AmountRange:
    """Bounds round inward, so a range never admits an amount it excludes in decimal."""
    low, high = filters.amount_min, filters.amount_max
    return AmountRange(
        currency.code,
        None if low is None else low.minor_units(currency, round_up=True),
        None if high is None else high.minor_units(currency, round_up=False),
    )
