"""Topic setup for the Kafka command log: the commands topic and its dead-letter topic.

Topics are created explicitly, never by the broker's auto-creation: Tansu
(like Kafka with `auto.create.topics.enable`) would create a missing topic on
the first metadata request with its own default partition count (4 on Tansu),
and a wallet's key would then hash to a different partition than the one
holding its earlier commands. Every client of this package therefore sets
`allow.auto.create.topics` to false.
"""

import logging
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # confluent_kafka.admin re-exports it untyped

from wallet.domain.errors import Unavailable

TOPIC_SETUP_TIMEOUT_MS = 5_000  # a reachable broker answers in milliseconds; a down one never
DEAD_LETTER_SUFFIX = ".dlq"
DEAD_LETTER_PARTITIONS = 1  # dead letters are rare; one partition keeps them in failure order
REPLICATION_FACTOR = -1  # the cluster's default.replication.factor: durability is its call

log = logging.getLogger("wallet.kafka")


def dead_letter_topic(topic: str) -> str:
    return topic + DEAD_LETTER_SUFFIX


@dataclass(frozen=True)
class KafkaCluster:
    """Where the broker is and how to reach it: every librdkafka client the wallet builds
    starts from `client_config(cluster)`, so TLS and SASL are set in one place.

    `security` holds librdkafka's `security.protocol`, `sasl.*` and `ssl.*` settings,
    a password among them: it is never printed.
    """

    bootstrap: str
    security: Mapping[str, str] = field(default_factory=dict, repr=False)


def security_settings(protocol: str, mechanism: str | None = None,
                      credentials: tuple[str, str] | None = None,
                      ca_file: str | None = None) -> dict[str, str]:
    """librdkafka's names for the settings WALLET_KAFKA_SECURITY_PROTOCOL and its kin give."""
    settings = {"security.protocol": protocol}
    if mechanism is not None:
        assert credentials is not None, "config demands a secret with every SASL mechanism"
        settings |= {"sasl.mechanism": mechanism, "sasl.username": credentials[0],
                     "sasl.password": credentials[1]}
    if ca_file is not None:
        settings["ssl.ca.location"] = ca_file
    return settings


def client_config(cluster: KafkaCluster) -> dict[str, str | int | float | bool]:
    """What every client of the log shares: the broker, its security, and no auto-creation."""
    return {**cluster.security, "bootstrap.servers": cluster.bootstrap,
            "allow.auto.create.topics": False,
            # librdkafka's default backs off up to 10 s; a restarted broker is found in 1 s
            "reconnect.backoff.max.ms": 1_000}


def log_error(message: str, error: KafkaError) -> None:
    """Connection failures are already in librdkafka's own log lines; the rest are news."""
    quiet = error.code() in (KafkaError._TRANSPORT, KafkaError._PARTITION_EOF)
    log.log(logging.DEBUG if quiet else logging.WARNING, message, extra={"error": str(error)})


def ensure_topics(cluster: KafkaCluster, topic: str, partitions: int,
                  timeout_ms: int = TOPIC_SETUP_TIMEOUT_MS) -> None:
    """Creates `topic` and its dead-letter topic if missing; raises Unavailable if it cannot."""
    assert partitions > 0, "a topic needs at least one partition"
    create_missing(cluster, {topic: partitions,
                               dead_letter_topic(topic): DEAD_LETTER_PARTITIONS}, timeout_ms)


def create_missing(cluster: KafkaCluster, wanted: Mapping[str, int], timeout_ms: int) -> None:
    """Creates those of `wanted` (name: partitions) the broker lacks; raises Unavailable."""
    admin = AdminClient(client_config(cluster), logger=log)
    missing = _missing(admin, wanted, timeout_ms)
    if missing:
        _create(admin, {name: wanted[name] for name in missing}, timeout_ms)


def _missing(admin: AdminClient, wanted: Mapping[str, int], timeout_ms: int) -> list[str]:
    """The topics the broker lacks; listing them is also the reachability probe."""
    try:
        existing = admin.list_topics(timeout=timeout_ms / 1000).topics
    except KafkaException as exc:
        raise Unavailable(f"the Kafka broker did not answer: {exc}") from exc
    for name, metadata in existing.items():
        if name in wanted and len(metadata.partitions) != wanted[name]:
            log.warning("topic has an unexpected partition count", extra={
                "topic": name, "partitions": len(metadata.partitions), "wanted": wanted[name]})
    return [name for name in wanted if name not in existing]


def _create(admin: AdminClient, topics: dict[str, int], timeout_ms: int) -> None:
    futures = admin.create_topics(
        [NewTopic(name, count, REPLICATION_FACTOR) for name, count in topics.items()],
        request_timeout=timeout_ms / 1000)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_ms / 1000)
            log.info("created topic", extra={"topic": name, "partitions": topics[name]})
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # a racing creator won
                raise Unavailable(f"could not create topic {name}: {exc}") from exc
        except FutureTimeout as exc:
            raise Unavailable(f"creating topic {name} timed out") from exc
