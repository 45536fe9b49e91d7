"""The journal's hash chain: what makes a changed or removed entry detectable.

Each account (one balances row: an account id, a shard of a system account,
in one currency) chains its own entries: an entry's hash is
SHA-256(previous entry's hash || the entry's canonical bytes), the first
entry's previous hash being GENESIS. Chaining per account adds no point
every batch must pass through: a batch already holds the locks of the
accounts it writes, so their chain heads cannot move under it.

The canonical bytes are JSON of the entry's fields in a fixed order, with
no whitespace and keys never reordered: one entry has exactly one encoding,
whichever backend stored it.
"""

import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64  # the "previous hash" of an account's first entry
# Built once: json.dumps with these options would build an encoder per call, a third of the
# cost of hashing an entry (measured: 6.2 µs against 4.1 µs an entry).
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class JournalEntry:
    """An entry as stored: every field its hash covers, and the position (`seq`) it has."""

    seq: int
    transaction_id: str
    account_id: str  # as stored: a system account's shard, not its logical name
    currency: str
    amount_minor: int  # signed
    balance_after_minor: int
    entry_type: str
    counterparty: str | None
    created_at: str  # the store's fixed-width text (ledger.TIMESTAMP_FORMAT)
    reference: str | None
    metadata: str | None  # the canonical JSON object text, or None without metadata
    hold_id: str | None
    hash: str | None  # None: written before the chain existed


# What a store hashes, in this order: `link(previous, CanonicalFields)`.
CanonicalFields = tuple[str, str, str, int, int, str, str | None, str, str | None, str | None,
                        str | None]


def canonical_fields(entry: JournalEntry) -> CanonicalFields:
    return (entry.transaction_id, entry.account_id, entry.currency, entry.amount_minor,
            entry.balance_after_minor, entry.entry_type, entry.counterparty, entry.created_at,
            entry.reference, entry.metadata, entry.hold_id)


def canonical_bytes(fields: CanonicalFields) -> bytes:
    return _CANONICAL.encode(fields).encode()


def link(previous: str, fields: CanonicalFields) -> str:
    """SHA-256 of the previous hash's 32 bytes followed by the entry's canonical bytes.

    A store writing entries calls this with the fields it is about to store,
    so it builds no JournalEntry per entry on the write path.
    """
    return hashlib.sha256(bytes.fromhex(previous) + canonical_bytes(fields)).hexdigest()


def chain_hash(previous: str, entry: JournalEntry) -> str:
    return link(previous, canonical_fields(entry))


def metadata_text(metadata: tuple[tuple[str, str], ...]) -> str | None:
    """How metadata is stored and hashed: one JSON object, keys sorted, or None if empty."""
    if not metadata:
        return None
    return json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def metadata_of(text: str | None) -> tuple[tuple[str, str], ...]:
    return () if text is None else tuple(sorted(json.loads(text).items()))
