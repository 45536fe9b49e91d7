"""The one place that wires adapters to services.

`build` takes every adapter as an optional argument, so tests pass in others
instead of patching internals; what is not given is made from the config.
Lambda-style handlers reach the wiring through `current()`, which builds once
per process; the local runtime calls `install()` first so all handlers share
its in-process engines.
"""

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wallet.adapters import aws_clients
from wallet.adapters.apigateway_connections import ApiGatewayConnections
from wallet.adapters.aws_secrets import sasl_credentials
from wallet.adapters.inprocess_log import InProcessLog
from wallet.adapters.inprocess_pubsub import InProcessPubSub
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.adapters.kafka_admin import security_settings
from wallet.adapters.kafka_log import (
    KafkaCluster,
    KafkaCommandLog,
    KafkaCommandSource,
    KafkaDeadLetters,
    ensure_topics,
)
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.memory_connections import MemoryConnections
from wallet.adapters.memory_dead_letters import MemoryDeadLetters
from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.prometheus_metrics import PrometheusMetrics
from wallet.adapters.redis_cache import RedisBalanceCache
from wallet.adapters.redis_pending import RedisPendingCommands
from wallet.adapters.redis_pubsub import RedisPubSub
from wallet.adapters.redis_rate_limiter import RedisRateLimiter
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.adapters.sqlite import SQLiteDialect
from wallet.adapters.sqs_events import QueuedPubSub, SqsEventQueue
from wallet.config import PROCESS_ROLES, Config
from wallet.domain.codec import decode_outcome
from wallet.domain.rate_limits import UNLIMITED
from wallet.entrypoints.request import RequestRules
from wallet.service_layer.expiry import HoldSweeper, sweep_batches
from wallet.service_layer.ledger import EVENTS_CHANNEL, Clock, LedgerConsumer
from wallet.service_layer.offload import Offload, Offloads, OnThreads, inline
from wallet.service_layer.ports import (
    BalanceCache,
    CommandLog,
    CommandSource,
    Connections,
    DeadLetters,
    LedgerStore,
    PubSub,
    RateLimiter,
    Subscription,
    TokenCodec,
)
from wallet.service_layer.relay import Relay
from wallet.service_layer.throttle import Throttle
from wallet.service_layer.waiters import OutcomeWaiters
from wallet.service_layer.wallet import WalletService

SECRET_FILE = "jwt-secret"
DATABASE_FILE = "wallet.sqlite3"
WAITING_ROLES = ("all", "gateway")  # the roles whose handlers wait for outcomes
CURSOR_KEY_LABEL = b"wallet history cursor v1"


def utc_now() -> datetime:
    """The wallet's one clock: the consumer's, and the hold sweeper's."""
    return datetime.now(UTC)


@dataclass
class Container:
    config: Config
    store: LedgerStore
    log: CommandLog
    pubsub: PubSub
    cache: BalanceCache
    dead_letters: DeadLetters
    tokens: TokenCodec
    wallet: WalletService
    consumer: LedgerConsumer
    relay: Relay
    subscriptions: list[Subscription]
    cursor_key: bytes = field(repr=False)  # signs history cursors; see cursor_key()
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)  # this process's own
    blocking: ThreadPoolExecutor | None = None  # runs the adapters' blocking calls
    kafka: KafkaCluster | None = None  # None: the in-process log
    throttle: Throttle = field(  # rate limits; build() wires the configured ones
        default_factory=lambda: Throttle(MemoryRateLimiter(), UNLIMITED))
    clock: Clock = utc_now

    @functools.cached_property
    def sweeper(self) -> HoldSweeper:
        """Appends the expiry of due holds; run by a consuming process, or a schedule."""
        return HoldSweeper(self.store, self.log)

    def sweep_holds(self, batches_max: int = 1) -> int:
        """One sweep of up to `batches_max` batches, now; returns the expiries appended."""
        return sweep_batches(self.sweeper, self.clock, batches_max)

    @functools.cached_property
    def source(self) -> CommandSource:
        """The consumer's side of the log, opened only by a process that consumes."""
        if isinstance(self.log, InProcessLog):
            return self.log
        assert self.kafka is not None, "only the in-process log has no broker"
        return KafkaCommandSource(self.kafka, self.config.kafka_topic, self.config.kafka_group)

    @functools.cached_property
    def request_rules(self) -> RequestRules:
        return RequestRules(self.tokens, self.config.default_currency,
                            self.config.amount_minor_max, self.cursor_key)

    def close(self) -> None:
        for subscription in self.subscriptions:
            subscription.close()
        if "source" in self.__dict__:
            self.source.close()
        self.log.close()
        self.dead_letters.close()
        self.pubsub.close()
        self.cache.close()
        self.store.close()
        self.throttle.close()
        if self.blocking is not None:
            self.blocking.shutdown(wait=False, cancel_futures=True)


def build(
    config: Config, *, role: str = "all", store: LedgerStore | None = None,
    log: CommandLog | None = None, pubsub: PubSub | None = None,
    cache: BalanceCache | None = None, connections: Connections | None = None,
    dead_letters: DeadLetters | None = None, metrics: PrometheusMetrics | None = None,
    kafka: KafkaCluster | None = None, rate_limiter: RateLimiter | None = None,
) -> Container:
    """Wires one process. Every engine left out is chosen by the config.

    `is None`, never `or`: an empty registry or cache is falsy but perfectly good.
    """
    assert role in PROCESS_ROLES, f"unknown role {role!r}"
    cache = _cache(config) if cache is None else cache
    pubsub = _pubsub(config, cache) if pubsub is None else pubsub
    store = open_store(config) if store is None else store
    store.migrate()
    kafka = kafka_cluster(config) if kafka is None else kafka
    log = _log(config, kafka) if log is None else log
    dead_letters = _dead_letters(config, kafka) if dead_letters is None else dead_letters
    secret = jwt_secret(config)
    tokens = JwtTokens(secret)
    waiters = OutcomeWaiters(config.waiters_max)
    metrics = PrometheusMetrics() if metrics is None else metrics
    metrics.watch_waiters(waiters.in_flight)
    pending = None if config.redis_url is None else RedisPendingCommands(
        config.redis_url, config.redis_namespace)
    blocking = ThreadPoolExecutor(config.handler_threads, thread_name_prefix="blocking")
    wallet = WalletService(store, log, cache, waiters, config.wait_for_commit_ms, pending,
                           _offloads(config, log, cache, OnThreads(blocking)))
    throttle = _throttle(config, _rate_limiter(config) if rate_limiter is None else rate_limiter,
                         OnThreads(blocking), metrics)

    def resolve(messages: Sequence[str]) -> None:
        waiters.resolve([decode_outcome(message) for message in messages])

    subscriptions = [pubsub.subscribe(EVENTS_CHANNEL, resolve)] if role in WAITING_ROLES else []
    return Container(
        config, store, log, pubsub, cache, dead_letters, tokens, wallet,
        LedgerConsumer(store, cache, pubsub, dead_letters, utc_now, metrics),
        Relay(_connections(config) if connections is None else connections, tokens,
              config.socket_limits, metrics=metrics, throttle=throttle),
        subscriptions, cursor_key(secret), metrics, blocking, kafka, throttle,
    )


def _offloads(config: Config, log: CommandLog, cache: BalanceCache,
              on_threads: Offload) -> Offloads:
    """In-memory adapters answer inline, and so does SQLite: its readers never wait for the
    writer (WAL, a connection per thread), and a read costs less than the hop to a thread.
    The others wait on a socket, so they wait on a thread."""
    return Offloads(
        store=inline if config.database_url is None else on_threads,
        log=inline if isinstance(log, InProcessLog) else on_threads,
        cache=inline if isinstance(cache, MemoryBalanceCache) else on_threads,
        scan=on_threads)


def open_store(config: Config) -> LedgerStore:
    if config.database_url is None:
        return SqlLedgerStore(SQLiteDialect(config.data_dir / DATABASE_FILE))
    return SqlLedgerStore(PostgresDialect(config.database_url, config.database_pool_max))


def kafka_cluster(config: Config, secrets: Any = None) -> KafkaCluster | None:
    """The broker and how to reach it, SASL credentials fetched once, here, at start-up.

    `secrets` is a Secrets Manager client; by default one with the wallet's bounds, from the
    AWS_* environment (AWS_ENDPOINT_URL reaches an emulator).
    """
    if config.kafka_bootstrap is None:
        return None
    security = config.kafka_security
    credentials = None if security.sasl_secret_arn is None else sasl_credentials(
        security.sasl_secret_arn,
        aws_clients.client("secretsmanager") if secrets is None else secrets)
    ca_file = None if security.ssl_ca_file is None else str(security.ssl_ca_file)
    return KafkaCluster(config.kafka_bootstrap, security_settings(
        security.protocol, security.sasl_mechanism, credentials, ca_file))


def _log(config: Config, kafka: KafkaCluster | None) -> CommandLog:
    if kafka is None:
        return InProcessLog(config.log_partitions, config.log_depth_max)
    ensure_topics(kafka, config.kafka_topic, config.log_partitions)
    return KafkaCommandLog(kafka, config.kafka_topic, config.log_partitions)


def _dead_letters(config: Config, kafka: KafkaCluster | None) -> DeadLetters:
    if kafka is None:
        return MemoryDeadLetters()
    return KafkaDeadLetters(kafka, config.kafka_topic)


def _cache(config: Config) -> BalanceCache:
    if config.redis_url is None:
        return MemoryBalanceCache()
    return RedisBalanceCache(config.redis_url, config.redis_namespace)


def _throttle(config: Config, limiter: RateLimiter, on_threads: Offload,
              metrics: PrometheusMetrics) -> Throttle:
    """In-process buckets answer inline, in microseconds; Redis's wait on a thread."""
    return Throttle(limiter, config.rate_limits,
                    inline if isinstance(limiter, MemoryRateLimiter) else on_threads, metrics)


def _rate_limiter(config: Config) -> RateLimiter:
    """Buckets every gateway shares when there is Redis; this process's own otherwise, and
    those again while Redis does not answer (see redis_rate_limiter.py)."""
    if config.redis_url is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(config.redis_url, config.redis_namespace, MemoryRateLimiter())


def _pubsub(config: Config, cache: BalanceCache) -> PubSub:
    """A Redis outage also makes the cache suspect: it may have missed invalidations.
    With a queue, committed events also go there, for the websocket fan-out on AWS."""
    pubsub: PubSub
    if config.redis_url is None:
        pubsub = InProcessPubSub()
    else:
        on_outage = cache.suspect if isinstance(cache, RedisBalanceCache) else None
        pubsub = RedisPubSub(config.redis_url, config.redis_namespace, on_outage)
    if config.events_queue_url is None:
        return pubsub
    queue = SqsEventQueue(config.events_queue_url, aws_clients.client("sqs"))
    return QueuedPubSub(pubsub, queue, [EVENTS_CHANNEL])


def _connections(config: Config) -> Connections:
    """Sockets held here, or (on AWS) by API Gateway and listed in DynamoDB."""
    if config.connections_table is None:
        return MemoryConnections()
    management = aws_clients.client("apigatewaymanagementapi", config.websocket_endpoint)
    return ApiGatewayConnections(config.connections_table, aws_clients.client("dynamodb"),
                                 management, time.time)


def jwt_secret(config: Config) -> str:
    """The configured secret, or one generated once and kept beside the database."""
    if config.jwt_secret:
        return config.jwt_secret
    path = config.data_dir / SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def cursor_key(secret: str) -> bytes:
    """A key of its own for history cursors, derived from the token secret.

    The label separates the uses: a cursor's MAC can never pass for a token's
    signature, or the other way round, though one secret is configured.
    """
    return hmac.new(secret.encode(), CURSOR_KEY_LABEL, hashlib.sha256).digest()


def write_private(path: Path, text: str) -> None:
    """A file only its owner may read (a secret, a token), replaced whole, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.chmod(0o600)
    temporary.replace(path)


_current: Container | None = None
_current_lock = threading.Lock()


def current() -> Container:
    global _current
    if _current is not None:  # every request asks: no lock once it is built
        return _current
    with _current_lock:
        if _current is None:
            config = Config.from_env()
            _current = build(config, role=config.role)
        return _current


def install(container: Container | None) -> None:
    global _current
    with _current_lock:
        _current = container
