"""Configuration, read once at start-up from a mapping (the environment by default).

Every value is cast and checked here, and a bad one fails loudly with the name
of its key, so nothing downstream ever parses an environment variable.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wallet.domain.access import SocketLimits
from wallet.domain.currencies import MINOR_UNIT_EXPONENTS
from wallet.domain.errors import ValidationError
from wallet.domain.ledger import BALANCE_MINOR_MAX
from wallet.domain.money import Currency, currency_of, parse_amount, whole_number
from wallet.domain.rate_limits import BURST_MAX, PER_S_MAX, Rate, RateLimits

INTEGER_DIGITS_MAX = 9  # every integer setting's range fits in nine digits
COMMANDS_TOPIC = "wallet.commands"  # the log's default name, for Kafka and Lambda events alike
_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")  # what Kafka accepts in a topic or group name
_HOST_PORTS = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*")
_POSTGRES_URL = re.compile(r"postgres(ql)?://\S+")
_REDIS_URL = re.compile(r"rediss?://\S+")
_HTTP_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")  # DynamoDB's rule for a table name
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
BURST_PER_RATE = 2  # an unset burst is two seconds' worth: the users' default, 100 at 50/s
SECRET_LENGTH_MIN = 32  # RFC 7518 asks for a key at least as long as the HS256 hash
# In the currency with the most minor digits (4), the largest amount must still fit a balance.
AMOUNT_MAX_LIMIT = BALANCE_MINOR_MAX // 10 ** max(MINOR_UNIT_EXPONENTS.values())


PROCESS_ROLES = ("all", "gateway", "consumer", "relay")  # the parts of the wallet a process can run


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    data_dir: Path
    jwt_secret: str | None = field(repr=False)  # secrets stay out of any printed config
    wait_for_commit_ms: int
    default_currency: Currency
    amount_max: str
    log_partitions: int
    log_depth_max: int
    batch_size_max: int
    ledger_stall_s: int  # readiness fails once commands wait this long with none applied
    handler_threads: int
    waiters_max: int
    log_level: str
    kafka_bootstrap: str | None = None  # unset: the in-process log
    kafka_topic: str = COMMANDS_TOPIC
    kafka_group: str = "wallet-ledger"
    kafka_security: "KafkaSecuritySettings" = field(
        default_factory=lambda: KafkaSecuritySettings())
    database_url: str | None = field(default=None, repr=False)  # unset: SQLite; may hold a password
    database_pool_max: int = 16
    redis_url: str | None = field(default=None, repr=False)  # unset: in-process pub/sub and cache
    redis_namespace: str = "wallet"
    role: str = "all"  # for Lambda-style handlers; `wallet serve --role` overrides it
    socket_limits: SocketLimits = field(default_factory=SocketLimits)  # per user, per process
    # The local HTTP edge's bounds on slow and greedy clients (runtime/wallet_runtime/edge.py).
    header_timeout_s: int = 10
    body_timeout_s: int = 20
    keepalive_timeout_s: int = 15
    # A load test of 10,000 connections comes from one address, so one address may hold that
    # many; half of the total, so that other clients always find room.
    connections_max: int = 25_000
    connections_per_address_max: int = 12_500
    metrics_port: int | None = None  # unset: /metrics only on the API's port, for operators
    metrics_host: str = "127.0.0.1"  # the unauthenticated metrics listener stays local by default
    # The relay on AWS: a DynamoDB registry (unset: in memory) and the Management API that
    # reaches its sockets, taken from here because the emulator's event names no port.
    connections_table: str | None = None
    websocket_endpoint: str | None = None
    events_queue_url: str | None = None  # the consumer also sends committed events here
    rate_limits: RateLimits = field(default_factory=RateLimits)  # token buckets, see throttle.py

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        source = _Source(os.environ if env is None else env)
        currency = source.currency("WALLET_DEFAULT_CURRENCY", "USD")
        return cls(
            host=source.text("WALLET_HOST", "127.0.0.1"),
            port=source.integer("WALLET_PORT", 8000, 0, 65535),
            data_dir=Path(source.text("WALLET_DATA_DIR", ".wallet")),
            jwt_secret=source.secret("WALLET_JWT_SECRET"),
            wait_for_commit_ms=source.integer("WALLET_WAIT_FOR_COMMIT_MS", 5000, 0, 60_000),
            default_currency=currency,
            amount_max=source.amount("WALLET_AMOUNT_MAX", "1000000000", currency),
            log_partitions=source.integer("WALLET_LOG_PARTITIONS", 8, 1, 256),
            log_depth_max=source.integer("WALLET_LOG_DEPTH_MAX", 10_000, 1, 1_000_000),
            batch_size_max=source.integer("WALLET_BATCH_SIZE_MAX", 500, 1, 10_000),
            ledger_stall_s=source.integer("WALLET_LEDGER_STALL_S", 30, 1, 3600),
            handler_threads=source.integer("WALLET_HANDLER_THREADS", 64, 1, 1024),
            waiters_max=source.integer("WALLET_WAITERS_MAX", 20_000, 1, 1_000_000),
            log_level=source.choice("WALLET_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING")),
            kafka_bootstrap=source.optional("WALLET_KAFKA_BOOTSTRAP", _HOST_PORTS,
                                            "host:port[,host:port]"),
            kafka_topic=source.name("WALLET_KAFKA_TOPIC", COMMANDS_TOPIC),
            kafka_group=source.name("WALLET_KAFKA_GROUP", "wallet-ledger"),
            kafka_security=_kafka_security(source),
            database_url=source.optional("WALLET_DATABASE_URL", _POSTGRES_URL, "postgresql://…"),
            database_pool_max=source.integer("WALLET_DATABASE_POOL_MAX", 16, 1, 1000),
            redis_url=source.optional("WALLET_REDIS_URL", _REDIS_URL, "redis://host:port[/db]"),
            redis_namespace=source.name("WALLET_REDIS_NAMESPACE", "wallet"),
            role=source.choice("WALLET_ROLE", "all", PROCESS_ROLES, upper=False),
            socket_limits=SocketLimits(
                source.integer("WALLET_WEBSOCKETS_PER_USER_MAX", SocketLimits.per_user_max,
                               1, 100_000),
                source.integer("WALLET_WEBSOCKETS_PER_PROCESS_MAX",
                               SocketLimits.per_process_max, 1, 1_000_000)),
            header_timeout_s=source.integer("WALLET_HEADER_TIMEOUT_S", 10, 1, 300),
            body_timeout_s=source.integer("WALLET_BODY_TIMEOUT_S", 20, 1, 300),
            keepalive_timeout_s=source.integer("WALLET_KEEPALIVE_TIMEOUT_S", 15, 1, 3600),
            connections_max=source.integer("WALLET_CONNECTIONS_MAX", cls.connections_max,
                                           1, 1_000_000),
            connections_per_address_max=source.integer(
                "WALLET_CONNECTIONS_PER_ADDRESS_MAX", cls.connections_per_address_max,
                1, 1_000_000),
            metrics_port=source.optional_integer("WALLET_METRICS_PORT", 0, 65535),
            metrics_host=source.text("WALLET_METRICS_HOST", "127.0.0.1"),
            rate_limits=_rate_limits(source),
            **_relay_settings(source),
        )

    def amount_minor_max(self, currency: Currency) -> int:
        """The configured maximum, expressed in this currency's minor units."""
        whole, _, fraction = self.amount_max.partition(".")
        assert not fraction.strip("0"), "WALLET_AMOUNT_MAX is validated as whole units"
        return int(whole) * currency.scale


def _relay_settings(source: "_Source") -> dict[str, str | None]:
    table = source.optional("WALLET_CONNECTIONS_TABLE", _TABLE_NAME,
                            "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    endpoint = source.optional("WALLET_WEBSOCKET_ENDPOINT", _HTTP_URL,
                               "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}")
    if table is not None and endpoint is None:
        raise ConfigError("WALLET_WEBSOCKET_ENDPOINT",
                          "must be set when WALLET_CONNECTIONS_TABLE is: it reaches the sockets")
    return {"connections_table": table, "websocket_endpoint": endpoint,
            "events_queue_url": source.optional("WALLET_EVENTS_QUEUE_URL", _HTTP_URL,
                                                "https://sqs.{region}.amazonaws.com/{account}/{name}")}


def _rate_limits(source: "_Source") -> RateLimits:
    defaults = RateLimits()
    return RateLimits(user=_rate(source, "USER", defaults.user),
                      operator=_rate(source, "OPERATOR", defaults.operator),
                      unauthenticated=_rate(source, "UNAUTHENTICATED", defaults.unauthenticated))


def _rate(source: "_Source", caller: str, default: Rate | None) -> Rate | None:
    """WALLET_RATE_LIMIT_<caller>_PER_S (0: unlimited) and its _BURST (twice the rate unless
    set, and refused when there is no rate for it to shape)."""
    per_s_key, burst_key = f"WALLET_RATE_LIMIT_{caller}_PER_S", f"WALLET_RATE_LIMIT_{caller}_BURST"
    per_s = source.integer(per_s_key, 0 if default is None else default.per_s, 0, PER_S_MAX)
    if per_s == 0:
        if source.given(burst_key):
            raise ConfigError(burst_key, f"applies only when {per_s_key} is above 0")
        return None
    burst_default = min(BURST_MAX, BURST_PER_RATE * per_s)
    return Rate(per_s, source.integer(burst_key, burst_default, 1, BURST_MAX))


@dataclass(frozen=True)
class KafkaSecuritySettings:
    """How the Kafka clients reach the broker. The credentials themselves are not here: they
    are fetched from Secrets Manager at start-up (see bootstrap.kafka_cluster)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_secret_arn: str | None = field(default=None, repr=False)  # names where a password is
    ssl_ca_file: Path | None = None


def _kafka_security(source: "_Source") -> KafkaSecuritySettings:
    protocol = source.choice("WALLET_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", KAFKA_PROTOCOLS)
    sasl = protocol == "SASL_SSL"
    mechanism = source.only_with("WALLET_KAFKA_SASL_MECHANISM", sasl, "SASL_SSL")
    if mechanism is not None and mechanism.upper() not in KAFKA_SASL_MECHANISMS:
        raise ConfigError("WALLET_KAFKA_SASL_MECHANISM",
                          f"must be one of {', '.join(KAFKA_SASL_MECHANISMS)}")
    arn = source.only_with("WALLET_KAFKA_SASL_SECRET_ARN", sasl, "SASL_SSL")
    if arn is not None and not _SECRET_ARN.fullmatch(arn):
        raise ConfigError("WALLET_KAFKA_SASL_SECRET_ARN",
                          "must look like arn:aws:secretsmanager:region:account:secret:name")
    ca_file = source.only_with("WALLET_KAFKA_SSL_CA_FILE", protocol != "PLAINTEXT",
                               "SSL or SASL_SSL", required=False)
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError("WALLET_KAFKA_SSL_CA_FILE", "must name a readable PEM file")
    return KafkaSecuritySettings(protocol, mechanism and mechanism.upper(), arn,
                                 None if ca_file is None else Path(ca_file))


class _Source:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, key: str, default: str) -> str:
        value = self._env.get(key, default).strip()
        if not value:
            raise ConfigError(key, "must not be empty")
        return value

    def secret(self, key: str) -> str | None:
        value = self._env.get(key)
        if value is not None and len(value) < SECRET_LENGTH_MIN:
            raise ConfigError(key, f"must be at least {SECRET_LENGTH_MIN} characters")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        raw = self.text(key, str(default))
        value = whole_number(raw, INTEGER_DIGITS_MAX)
        if value is None or not low <= value <= high:
            raise ConfigError(key, f"must be a whole number from {low} to {high}, not {raw!r}")
        return value

    def given(self, key: str) -> bool:
        return bool(self._env.get(key, "").strip())

    def optional_integer(self, key: str, low: int, high: int) -> int | None:
        if not self._env.get(key, "").strip():
            return None
        return self.integer(key, low, low, high)

    def currency(self, key: str, default: str) -> Currency:
        try:
            return currency_of(self.text(key, default))
        except ValidationError as exc:
            raise ConfigError(key, exc.message) from exc

    def amount(self, key: str, default: str, currency: Currency) -> str:
        raw = self.text(key, default)
        try:
            parse_amount(raw, Currency(currency.code, 0), AMOUNT_MAX_LIMIT)
        except ValidationError as exc:
            raise ConfigError(
                key, f"must be a whole number of major units from 1 to {AMOUNT_MAX_LIMIT}"
            ) from exc
        return raw

    def optional(self, key: str, pattern: re.Pattern[str], shape: str) -> str | None:
        value = self._env.get(key, "").strip()
        if not value:
            return None
        if not pattern.fullmatch(value):
            raise ConfigError(key, f"must look like {shape}")  # never echo: it may hold a password
        return value

    def only_with(self, key: str, wanted: bool, protocol: str, required: bool = True,
                  ) -> str | None:
        """A setting that belongs to one security protocol: refused without it, and (when
        `required`) demanded with it."""
        value = self._env.get(key, "").strip() or None
        if value is not None and not wanted:
            raise ConfigError(key, f"applies only with WALLET_KAFKA_SECURITY_PROTOCOL={protocol}")
        if value is None and wanted and required:
            raise ConfigError(key, f"is required with WALLET_KAFKA_SECURITY_PROTOCOL={protocol}")
        return value

    def name(self, key: str, default: str) -> str:
        value = self.text(key, default)
        if not _NAME.fullmatch(value):
            raise ConfigError(key, f"must be 1 to 200 of A-Z a-z 0-9 . _ -, not {value!r}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...], upper: bool = True) -> str:
        value = self.text(key, default)
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise ConfigError(key, f"must be one of {', '.join(choices)}")
        return value
