"""A poison record on the real Kafka topic goes to the dead letters and blocks nothing."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Message, Producer

from tests.e2e.conftest import SERVICES, Engine
from tests.e2e.server import Server, auth, unique
from tests.services.kafka import Tansu

DEAD_LETTER_WAIT_S = 30
POLL_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def kafka_server(broker: Tansu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    engine = Engine(SERVICES, broker)
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("dlq")), env).start()
        running.extra_env = env
        yield running
        running.stop()


def test_a_poison_record_is_dead_lettered_and_its_wallet_keeps_working(
        kafka_server: Server) -> None:
    env, user = kafka_server.extra_env, unique()
    bootstrap, topic = env["WALLET_KAFKA_BOOTSTRAP"], env["WALLET_KAFKA_TOPIC"]
    poison = f"not a command {uuid.uuid4()}".encode()
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    producer.produce(topic, key=user, value=poison)  # the same partition as the user's commands
    assert producer.flush(10) == 0
    with httpx.Client(base_url=kafka_server.url, timeout=30) as api:
        deposit = api.post("/wallet/deposit", json={"userId": user, "amount": "5.00"},
                           headers=auth(user))
        assert deposit.status_code == 201, "a poison record must not block its partition"
    letter = dead_letter(bootstrap, f"{topic}.dlq", poison)
    reason = dict(letter.headers() or [])["reason"]
    assert reason, "a dead letter says why"


def dead_letter(bootstrap: str, topic: str, value: bytes) -> Message:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("dlq-reader"),
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    try:
        for _ in range(int(DEAD_LETTER_WAIT_S / POLL_TIMEOUT_S)):
            message = consumer.poll(POLL_TIMEOUT_S)
            if message is not None and not message.error() and message.value() == value:
                return message
    finally:
        consumer.close()
    raise AssertionError(f"no dead letter on {topic}")
