-- The schema of version 1, as SQLite recorded it (sqlite_master) in a file made by that
-- release. Every later release must open such a file and upgrade it in place.
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('committed', 'rejected')),
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'payout', 'transfer')),
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    error_code TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    wallet_id TEXT NOT NULL
);
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,
    entry_type TEXT NOT NULL
        CHECK (entry_type IN ('deposit', 'payout', 'transfer_in', 'transfer_out')),
    counterparty TEXT,
    created_at TEXT NOT NULL,
    CHECK (balance_after >= 0 OR account_id LIKE 'system:%')
);
CREATE INDEX entries_by_account ON entries (account_id, seq);
CREATE INDEX entries_by_transaction ON entries (transaction_id);
CREATE TABLE balances (
    account_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL,
    PRIMARY KEY (account_id, currency),
    CHECK (balance >= 0 OR account_id LIKE 'system:%')
);
CREATE TRIGGER transactions_no_UPDATE BEFORE UPDATE ON transactions BEGIN SELECT RAISE(ABORT, 'transactions is append-only'); END;
CREATE TRIGGER transactions_no_DELETE BEFORE DELETE ON transactions BEGIN SELECT RAISE(ABORT, 'transactions is append-only'); END;
CREATE TRIGGER entries_no_UPDATE BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'entries is append-only'); END;
CREATE TRIGGER entries_no_DELETE BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'entries is append-only'); END;
INSERT INTO schema_version VALUES (1);
