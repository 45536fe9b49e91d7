"""Verification's reads on SQL: one snapshot of the ledger, read a page at a time.

Every statement runs on the one cursor of a dialect snapshot (a read-only
transaction that sees a single committed state), so a balances row, its head
and the account's entries are read as the same instant left them, however
many batches commit meanwhile. Entries still come a page per statement:
the snapshot fixes what is seen, not how much is held in memory.
"""

from wallet.adapters.sql_dialect import Cursor, Dialect
from wallet.domain.journal import JournalEntry
from wallet.service_layer.ports import AuditedAccount, JournalSnapshot

_JOURNAL_NAMES = ("seq, transaction_id, account_id, currency, amount, balance_after, entry_type, "
                  "counterparty, created_at, reference, metadata, hold_id, hash")


class SqlJournalSnapshot(JournalSnapshot):
    def __init__(self, dialect: Dialect, cursor: Cursor) -> None:
        self._db, self._cursor = dialect, cursor  # the cursor of one dialect snapshot

    def audited_accounts(self, user_id: str | None) -> list[AuditedAccount]:
        where, params = ("WHERE account_id = ?", [user_id]) if user_id is not None else ("", [])
        self._cursor.execute(self._db.sql(
            f"SELECT account_id, currency, balance, held, head FROM balances {where} "
            "ORDER BY account_id, currency"), params)
        return [AuditedAccount(a, c, int(b), int(h), head)
                for a, c, b, h, head in self._cursor.fetchall()]

    def journal(
        self, account_id: str, currency: str, after_seq: int, limit: int
    ) -> list[JournalEntry]:
        self._cursor.execute(self._db.sql(
            f"SELECT {_JOURNAL_NAMES} FROM entries WHERE account_id = ? AND currency = ? "
            "AND seq > ? ORDER BY seq LIMIT ?"), (account_id, currency, after_seq, limit))
        return [JournalEntry(int(seq), t, a, c, int(m), int(b), kind, other, str(created),
                             reference, metadata, hold, digest)
                for seq, t, a, c, m, b, kind, other, created, reference, metadata, hold,
                digest in self._cursor.fetchall()]

    def unbalanced_transactions(self, user_id: str | None, limit: int) -> list[tuple[str, int]]:
        where, params = "", []
        if user_id is not None:
            where = "WHERE transaction_id IN (SELECT transaction_id FROM entries " \
                    "WHERE account_id = ?)"
            params = [user_id]
        self._cursor.execute(self._db.sql(
            f"SELECT transaction_id, SUM(amount) FROM entries {where} GROUP BY "
            "transaction_id HAVING SUM(amount) <> 0 ORDER BY transaction_id LIMIT ?"),
            [*params, limit])
        return [(t, int(total)) for t, total in self._cursor.fetchall()]
