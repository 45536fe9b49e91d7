"""The ledger engine alone: `apply_batch` on pre-built commands, no HTTP and no log.

`measure` makes a fresh database on the PostgreSQL server that `database_url`
names, funds every wallet (not timed), then times half deposits and half
transfers (or, with `hot`, all of them on HOT_WALLETS wallets) applied in
batches through the store that `wallet.bootstrap` opens, and drops the
database again.
"""

import random
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from wallet import bootstrap
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.config import Config
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Transfer, request_hash
from wallet.service_layer.ledger import apply_batch
from wallet.service_layer.ports import LedgerStore

HOT_WALLETS = 10
FUNDING_MINOR = 1_000_000  # each wallet's opening deposit: transfers are never refused
AMOUNT_MINOR = 100
CURRENCY = "USD"
FUNDING_BATCH_SIZE = 1000
ADMIN_CONNECT_TIMEOUT_S = 5


def measure(database_url: str, commands: int, batch_size: int, wallets: int,
            hot: bool = False) -> dict[str, float]:
    assert commands > 0 and batch_size > 0 and wallets >= 2, "a measure needs work"
    users = [f"engine-{number}" for number in range(wallets)]
    chosen = users[:HOT_WALLETS] if hot else users
    timed = [_envelope(command) for command in _commands(chosen, commands)]
    with _fresh_database(database_url) as url:
        store = bootstrap.open_store(Config.from_env({"WALLET_DATABASE_URL": url}))
        try:
            store.migrate()
            funding = [_envelope(Deposit(user, FUNDING_MINOR, CURRENCY)) for user in users]
            _apply(store, funding, FUNDING_BATCH_SIZE)
            started = time.perf_counter()
            _apply(store, timed, batch_size)
            elapsed_s = time.perf_counter() - started
        finally:
            store.close()
    return {"commands_per_s": commands / elapsed_s, "seconds": elapsed_s}


def _commands(users: Sequence[str], count: int) -> Iterator[LedgerCommand]:
    chooser = random.Random(count)  # the same commands for the same arguments
    for number in range(count):
        user = chooser.choice(users)
        if number % 2 == 0:
            yield Deposit(user, AMOUNT_MINOR, CURRENCY)
        else:
            peer = chooser.choice(users)
            while peer == user:  # wallets >= 2, so another one comes
                peer = chooser.choice(users)
            yield Transfer(user, peer, AMOUNT_MINOR, CURRENCY)


def _envelope(command: LedgerCommand) -> Envelope:
    return Envelope(str(uuid.uuid4()), request_hash(command), command)


def _apply(store: LedgerStore, envelopes: Sequence[Envelope], batch_size: int) -> None:
    cache = MemoryBalanceCache()
    for start in range(0, len(envelopes), batch_size):
        apply_batch(store, cache, envelopes[start:start + batch_size], _now)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _fresh_database(server_url: str) -> Iterator[str]:
    name = f"wallet_engine_{secrets.token_hex(6)}"
    _administer(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        _administer(server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _administer(url: str, statement: sql.Composed) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=ADMIN_CONNECT_TIMEOUT_S) as admin:
        admin.execute(statement)
