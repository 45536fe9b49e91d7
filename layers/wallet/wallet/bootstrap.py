"""The one place that wires adapters to services.

`build` takes every adapter as an optional argument, so tests pass in others
instead of patching internals; what is not given is made from the config.
Lambda-style handlers reach the wiring through `current()`, which builds once
per process; the local runtime calls `install()` first so all handlers share
its in-process engines.
"""

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wallet.adapters.inprocess_log import InProcessLog
from wallet.adapters.inprocess_pubsub import InProcessPubSub
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect
from wallet.config import Config
from wallet.domain.codec import decode_outcome
from wallet.service_layer.ledger import EVENTS_CHANNEL, LedgerConsumer
from wallet.service_layer.ports import (
    BalanceCache,
    CommandLog,
    CommandSource,
    Connections,
    LedgerStore,
    PubSub,
    Subscription,
    TokenCodec,
)
from wallet.service_layer.relay import Relay
from wallet.service_layer.waiters import OutcomeWaiters
from wallet.service_layer.wallet import WalletService

SECRET_FILE = "jwt-secret"
DATABASE_FILE = "wallet.sqlite3"


@dataclass
class Container:
    config: Config
    store: LedgerStore
    log: CommandLog
    source: CommandSource
    pubsub: PubSub
    tokens: TokenCodec
    wallet: WalletService
    consumer: LedgerConsumer
    relay: Relay
    subscriptions: list[Subscription]

    def close(self) -> None:
        for subscription in self.subscriptions:
            subscription.close()
        self.store.close()


def build(
    config: Config, *, store: LedgerStore | None = None, log: InProcessLog | None = None,
    pubsub: PubSub | None = None, cache: BalanceCache | None = None,
    connections: Connections | None = None,
) -> Container:
    # `is None`, never `or`: an empty registry or cache is falsy but perfectly good.
    if store is None:
        store = SqlLedgerStore(SQLiteDialect(config.data_dir / DATABASE_FILE))
    store.migrate()
    if log is None:
        log = InProcessLog(config.log_partitions, config.log_depth_max)
    pubsub = InProcessPubSub() if pubsub is None else pubsub
    cache = MemoryBalanceCache() if cache is None else cache
    connections = MemoryConnections() if connections is None else connections
    tokens = JwtTokens(jwt_secret(config))
    waiters = OutcomeWaiters(config.waiters_max)
    wallet = WalletService(store, log, cache, waiters, config.wait_for_commit_ms)

    def resolve(messages: Sequence[str]) -> None:
        waiters.resolve([decode_outcome(message) for message in messages])

    return Container(
        config, store, log, log, pubsub, tokens, wallet,
        LedgerConsumer(store, cache, pubsub, lambda: datetime.now(UTC)),
        Relay(connections, tokens),
        [pubsub.subscribe(EVENTS_CHANNEL, resolve)],
    )


def jwt_secret(config: Config) -> str:
    """The configured secret, or one generated once and kept beside the database."""
    if config.jwt_secret:
        return config.jwt_secret
    path = config.data_dir / SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.chmod(0o600)
    temporary.replace(path)


_current: Container | None = None
_current_lock = threading.Lock()


def current() -> Container:
    global _current
    with _current_lock:
        if _current is None:
            _current = build(Config.from_env())
        return _current


def install(container: Container | None) -> None:
    global _current
    with _current_lock:
        _current = container
