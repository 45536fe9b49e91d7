"""History pages on SQL: the statement for every filter and order, in any dialect.

A page reads an index from its cursor on. A page filtered by a label (a
reference or a metadata pair) is driven by `entry_labels`, which the database
fills from each user entry, so it seeks (owner, name, value) and pages by
`entry_seq`, however many entries the wallet has.
"""

from typing import Any

from wallet.adapters.sql_dialect import Dialect
from wallet.adapters.sql_migrations import USERS_ONLY
from wallet.domain.journal import metadata_of
from wallet.service_layer.ports import HistoryEntry, HistoryQuery

# What a history page reads of an entry, in HistoryEntry's order.
HISTORY_NAMES = ("seq, transaction_id, entry_type, currency, amount, balance_after, counterparty, "
                 "created_at, account_id, reference, metadata, hold_id")


def history_statement(db: Dialect, query: HistoryQuery) -> tuple[str, list[Any]]:
    """The statement a history page runs, in the dialect's own form (also for EXPLAIN)."""
    # A label filter drives from entry_labels, whose entry_seq is the entry's seq.
    position = "entry_seq" if query.labels else "seq"
    where, params = _history_filter(db, query, position)
    direction = "ASC" if query.ascending else "DESC"
    order = f"ABS(amount) {direction}, {position} {direction}" if query.by_amount else \
        f"{position} {direction}"
    source = "entries"
    if query.labels:
        source = "entry_labels JOIN entries ON seq = entry_seq"
    statement = f"SELECT {HISTORY_NAMES} FROM {source} WHERE {where} ORDER BY {order} LIMIT ?"
    return db.sql(statement), [*params, query.limit]


def owner_clause(account_id: str | None) -> tuple[str, list[Any]]:
    """One wallet, or every user's wallet: system accounts are the world outside.

    The users-only clause, also beside one wallet's id, is what lets the
    planner use the history indexes, which hold users' entries only.
    """
    if account_id is None:
        return USERS_ONLY, []
    return f"account_id = ? AND {USERS_ONLY}", [account_id]


def _after(query: HistoryQuery, position: str) -> tuple[str, list[Any]]:
    """Keyset paging: entries strictly past the cursor in the page's own order."""
    if query.after_seq is None:
        return "", []
    op = ">" if query.ascending else "<"
    if not query.by_amount:
        return f"{position} {op} ?", [query.after_seq]
    amount = query.after_amount_minor
    assert amount is not None, "an amount-sorted cursor carries its amount"
    # A row comparison, not an OR, lets PostgreSQL seek the amount index to the cursor; the
    # redundant bound on the amount alone is what SQLite seeks on.
    return f"(ABS(amount), {position}) {op} (?, ?) AND ABS(amount) {op}= ?", \
        [amount, query.after_seq, amount]


def _history_filter(db: Dialect, query: HistoryQuery, position: str) -> tuple[str, list[Any]]:
    owner, params = owner_clause(query.account_id)
    clauses: list[str] = [owner]
    if query.labels:
        labels, label_params = _labels(query)
        clauses.append(labels)
        params.extend(label_params)
    after, after_params = _after(query, position)
    if after:
        clauses.append(after)
        params.extend(after_params)
    optional = (
        ("entry_type = ?", query.entry_type),
        ("currency = ?", query.currency),
        ("created_at >= ?", query.created_from and db.timestamp_in(query.created_from)),
        ("created_at <= ?", query.created_to and db.timestamp_in(query.created_to)),
    )
    for clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if query.amount_ranges:
        ranges, range_params = _amount_ranges(query)
        clauses.append(ranges)
        params.extend(range_params)
    return " AND ".join(clauses), params


def _labels(query: HistoryQuery) -> tuple[str, list[Any]]:
    """The first label is the driving row's (seeking its index, by owner when there is one);
    any other must be filed for the same entry."""
    (name, value), *others = query.labels
    clauses, params = ["name = ?", "value = ?"], [name, value]
    if query.account_id is not None:
        clauses.insert(0, "owner = ?")
        params.insert(0, query.account_id)
    for other_name, other_value in others:
        clauses.append("EXISTS (SELECT 1 FROM entry_labels other WHERE other.entry_seq = seq "
                       "AND other.name = ? AND other.value = ?)")
        params.extend([other_name, other_value])
    return " AND ".join(clauses), params


def _amount_ranges(query: HistoryQuery) -> tuple[str, list[Any]]:
    """Amount bounds are per currency, since a minor unit means different things in each."""
    alternatives: list[str] = []
    params: list[Any] = []
    for bounds in query.amount_ranges:
        parts: list[str] = ["currency = ?"]
        values: list[Any] = [bounds.currency]
        if bounds.minor_min is not None:
            parts.append("ABS(amount) >= ?")
            values.append(bounds.minor_min)
        if bounds.minor_max is not None:
            parts.append("ABS(amount) <= ?")
            values.append(bounds.minor_max)
        alternatives.append("(" + " AND ".join(parts) + ")")
        params.extend(values)
    return "(" + " OR ".join(alternatives) + ")", params


def history_entry(db: Dialect, row: Any) -> HistoryEntry:
    seq, transaction_id, entry_type, currency, amount, after, counterparty, created, owner, \
        reference, metadata, hold_id = row
    return HistoryEntry(int(seq), transaction_id, entry_type, currency, abs(int(amount)),
                        int(after), counterparty, db.timestamp_out(created), owner,
                        reference, metadata_of(metadata), hold_id)
