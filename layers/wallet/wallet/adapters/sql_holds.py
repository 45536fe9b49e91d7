"""Holds on SQL: the `holds` state table and the append-only `hold_entries` journal.

A hold's row changes as it ends (its status, captured amount and the time it
changed); every change of a wallet's held money is also journaled in
`hold_entries`, with the wallet's held money and balance after it. That
journal is how a hold command's first answer is rebuilt for a replay, and how
a past instant's `available` is read.
"""

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from wallet.adapters.sql_dialect import Column, Cursor, Dialect
from wallet.domain.commands import Envelope
from wallet.domain.events import HoldUpdated, Outcome
from wallet.domain.holds import Hold
from wallet.domain.journal import metadata_of, metadata_text
from wallet.service_layer.ports import HoldQuery, StoredHold

HOLD_COLUMNS: tuple[Column, ...] = (
    ("id", "text"), ("account_id", "text"), ("currency", "text"), ("amount", "bigint"),
    ("captured", "bigint"), ("status", "text"), ("expires_at", "text"), ("created_at", "text"),
    ("updated_at", "text"), ("reference", "text"), ("metadata", "text"))
HOLD_ENTRY_COLUMNS: tuple[Column, ...] = (
    ("transaction_id", "text"), ("hold_id", "text"), ("account_id", "text"),
    ("currency", "text"), ("amount", "bigint"), ("held_after", "bigint"),
    ("balance_after", "bigint"), ("status", "text"), ("captured", "bigint"),
    ("created_at", "text"))
_HOLD_NAMES = ", ".join(name for name, _ in HOLD_COLUMNS)
# Only what changes: the rest of a hold is fixed when it is placed.
_HOLD_CHANGES = ("ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
                 "captured = excluded.captured, updated_at = excluded.updated_at")
HOLD_KINDS = frozenset({"hold", "capture", "void", "expire"})


def hold_row(db: Dialect, hold: Hold) -> tuple[Any, ...]:
    return (hold.id, hold.user_id, hold.currency, hold.amount_minor, hold.captured_minor,
            hold.status, db.timestamp_in(hold.expires_at), db.timestamp_in(hold.created_at),
            db.timestamp_in(hold.updated_at), hold.reference, metadata_text(hold.metadata))


def hold_of(db: Dialect, row: Any) -> Hold:
    identifier, account, currency, amount, captured, status, expires, created, updated, \
        reference, metadata = row
    return Hold(identifier, account, currency, int(amount), status, int(captured),
                db.timestamp_out(expires), db.timestamp_out(created), db.timestamp_out(updated),
                reference, metadata_of(metadata))


def load_holds(
    db: Dialect, cursor: Cursor, hold_ids: Collection[str], wallet_ids: Collection[str],
    due_by: datetime,
) -> dict[str, Hold]:
    found: dict[str, Hold] = {}
    for where, params in db.matching("id", list(hold_ids)):
        cursor.execute(db.sql(f"SELECT {_HOLD_NAMES} FROM holds WHERE {where}"), params)
        found.update((row[0], hold_of(db, row)) for row in cursor.fetchall())
    for where, params in db.matching("account_id", sorted(wallet_ids)):
        cursor.execute(db.sql(
            f"SELECT {_HOLD_NAMES} FROM holds WHERE {where} AND status = 'held' "
            "AND expires_at <= ?"), [*params, db.timestamp_in(due_by)])
        found.update((row[0], hold_of(db, row)) for row in cursor.fetchall())
    return found


def save_holds(db: Dialect, cursor: Cursor, holds: Collection[Hold]) -> None:
    rows = sorted(hold_row(db, hold) for hold in holds)  # by id: one lock order for all
    db.insert(cursor, "holds", HOLD_COLUMNS, rows, _HOLD_CHANGES)


def hold_entry_rows(db: Dialect, applied: Iterable[tuple[Envelope, Outcome]]) -> list[Any]:
    rows = []
    for envelope, outcome in applied:
        if isinstance(outcome, HoldUpdated):
            change, hold = outcome.change, outcome.change.hold
            rows.append((envelope.command_id, hold.id, hold.user_id, hold.currency,
                         change.held_delta_minor, change.held_after_minor,
                         change.balance_after_minor, hold.status, hold.captured_minor,
                         db.timestamp_in(hold.updated_at)))
    return rows


def load_hold_changes(
    db: Dialect, cursor: Cursor, command_ids: list[str]
) -> dict[str, tuple[Hold, int, int, int]]:
    """By command id: the hold as that command left it, with (delta, held, balance) after."""
    journaled: list[Any] = []
    for where, params in db.matching("transaction_id", command_ids):
        cursor.execute(db.sql(
            "SELECT transaction_id, hold_id, amount, held_after, balance_after, status, "
            f"captured, created_at FROM hold_entries WHERE {where}"), params)
        journaled.extend(cursor.fetchall())
    holds: dict[str, Hold] = {}
    for where, params in db.matching("id", sorted({row[1] for row in journaled})):
        cursor.execute(db.sql(f"SELECT {_HOLD_NAMES} FROM holds WHERE {where}"), params)
        holds.update((row[0], hold_of(db, row)) for row in cursor.fetchall())
    changes = {}
    for command_id, hold_id, delta, held, balance, status, captured, created in journaled:
        then = replace(holds[hold_id], status=status, captured_minor=int(captured),
                       updated_at=db.timestamp_out(created))
        changes[command_id] = (then, int(delta), int(held), int(balance))
    return changes


def hold_of_id(db: Dialect, cursor: Cursor, hold_id: str) -> Hold | None:
    cursor.execute(db.sql(f"SELECT {_HOLD_NAMES} FROM holds WHERE id = ?"), (hold_id,))
    row = cursor.fetchone()
    return None if row is None else hold_of(db, row)


def holds_page(db: Dialect, cursor: Cursor, query: HoldQuery) -> list[StoredHold]:
    """Newest first: each filter is a prefix of one of the holds indexes, then seq."""
    clauses, params = [], []
    for clause, value in (("account_id = ?", query.account_id), ("status = ?", query.status),
                          ("seq < ?", query.after_seq)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    cursor.execute(db.sql(f"SELECT seq, {_HOLD_NAMES} FROM holds {where} "
                          "ORDER BY seq DESC LIMIT ?"), [*params, query.limit])
    return [StoredHold(int(row[0]), hold_of(db, row[1:])) for row in cursor.fetchall()]


def due(db: Dialect, cursor: Cursor, now: datetime, limit: int) -> list[Hold]:
    cursor.execute(db.sql(
        f"SELECT {_HOLD_NAMES} FROM holds WHERE status = 'held' AND expires_at <= ? "
        "ORDER BY expires_at LIMIT ?"), (db.timestamp_in(now), limit))
    return [hold_of(db, row) for row in cursor.fetchall()]


def held_at(
    db: Dialect, cursor: Cursor, account_id: str, currency: str, at: datetime
) -> int | None:
    """The wallet's held money in `currency` at `at`: one seek of hold_entries_at."""
    cursor.execute(db.sql(
        "SELECT held_after FROM hold_entries WHERE account_id = ? AND currency = ? "
        "AND created_at <= ? ORDER BY created_at DESC, seq DESC LIMIT 1"),
        (account_id, currency, db.timestamp_in(at)))
    row = cursor.fetchone()
    return None if row is None else int(row[0])
