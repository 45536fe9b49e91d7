"""`wallet bridge` against a real Tansu broker and a fake Lambda Invoke API over real HTTP.

The fake answers POST /2015-03-31/functions/{name}/invocations as Lambda does,
so boto3's own serialisation is exercised: a handler's return value is the
JSON body; a raised exception is a 200 with `X-Amz-Function-Error: Unhandled`
and `{"errorType": "Runtime.HandlerError"}`, as ministack answers.
"""

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from wallet import bootstrap
from wallet.adapters.kafka_log import KafkaCluster, KafkaDeadLetters, ensure_topics
from wallet.config import Config
from wallet.domain.codec import encode_envelope
from wallet.domain.commands import Deposit
from wallet_runtime.esm_bridge import Bridge, lambda_invoke
from wallet_runtime.functions import CONSUMER, load_handlers

from tests.services.kafka import Tansu, running_tansu

from .support import envelope, unique, wait_until
from .test_kafka_log import read_one

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
FUNCTION = "wallet-LedgerConsumer"
Function = Callable[[dict[str, Any]], object]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with running_tansu(tmp_path_factory.mktemp("tansu")) as running:
        yield running


class FakeLambda:
    """Runs `function` for each invocation and keeps every event it was handed."""

    def __init__(self) -> None:
        self.function: Function = lambda event: {}
        self.events: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                assert self.path == f"/2015-03-31/functions/{FUNCTION}/invocations"
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.events.append(event)
                headers = {}
                try:
                    body = fake.function(event)
                except Exception as exc:
                    body = {"errorMessage": str(exc), "errorType": "Runtime.HandlerError"}
                    headers["X-Amz-Function-Error"] = "Unhandled"
                data = json.dumps(body).encode()
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None
        return Handler


@pytest.fixture
def fake_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambda]:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    fake = FakeLambda()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def real_consumer(tmp_path: Path) -> Iterator[Function]:
    """The real consumer function, on SQLite, as ministack would run it."""
    config = Config.from_env({"WALLET_DATA_DIR": str(tmp_path), "WALLET_JWT_SECRET": "x" * 32})
    container = bootstrap.build(config)
    bootstrap.install(container)
    handler = load_handlers(FUNCTIONS)[CONSUMER]
    yield lambda event: handler(event, None)
    bootstrap.install(None)
    container.close()


class Running:
    def __init__(self, broker: Tansu, fake: FakeLambda, retries: int) -> None:
        self.cluster = KafkaCluster(broker.bootstrap)
        self.topic, self.group = unique("commands"), unique("bridge")
        ensure_topics(self.cluster, self.topic, 1)
        self.letters = KafkaDeadLetters(self.cluster, self.topic)
        self.bridge = Bridge(self.cluster, self.topic, self.group,
                             lambda_invoke(FUNCTION, fake.url, 10), self.letters, 100, retries)
        self.thread = threading.Thread(target=self.bridge.run, daemon=True)

    def produce(self, values: list[bytes]) -> None:
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap})
        for value in values:
            producer.produce(self.topic, value, b"wallet")
        assert producer.flush(10) == 0

    def committed(self) -> int:
        reader = Consumer({"bootstrap.servers": self.cluster.bootstrap, "group.id": self.group})
        try:
            [position] = reader.committed([TopicPartition(self.topic, 0)], timeout=5)
            return position.offset
        finally:
            reader.close()

    def stop(self) -> None:
        self.bridge.stopping.set()
        self.thread.join(10)
        self.letters.close()


@pytest.fixture
def running(broker: Tansu, fake_lambda: FakeLambda, request: pytest.FixtureRequest,
            ) -> Iterator[Running]:
    bridged = Running(broker, fake_lambda, getattr(request, "param", 1))
    yield bridged
    bridged.stop()


def offsets(event: dict[str, Any]) -> list[int]:
    return [record["offset"] for records in event["records"].values() for record in records]


def deposits(count: int, user: str) -> list[bytes]:
    return [encode_envelope(envelope(Deposit(user, 100, "USD"))) for _ in range(count)]


def test_a_batch_is_committed_only_after_the_function_succeeded(
        running: Running, fake_lambda: FakeLambda, real_consumer: Function) -> None:
    user = unique("user")
    seen_committed: list[int] = []

    def function(event: dict[str, Any]) -> object:
        seen_committed.append(running.committed())
        return real_consumer(event)
    fake_lambda.function = function
    running.produce(deposits(3, user))
    running.thread.start()
    wait_until(lambda: running.committed() == 3, "the batch to be committed")
    assert seen_committed and all(offset < 3 for offset in seen_committed)
    assert bootstrap.current().store.balances(user).balances == {"USD": 300}
    record = fake_lambda.events[0]["records"][f"{running.topic}-0"][0]
    assert record["key"] == "d2FsbGV0" and record["timestampType"] == "CREATE_TIME"


def test_a_function_error_retries_the_whole_batch_without_skipping(
        running: Running, fake_lambda: FakeLambda, real_consumer: Function) -> None:
    user, failures = unique("user"), [2]

    def function(event: dict[str, Any]) -> object:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("the database is down")
        return real_consumer(event)
    fake_lambda.function = function
    running.produce(deposits(2, user))
    running.thread.start()
    wait_until(lambda: running.committed() == 2, "the batch to be committed")
    assert len(fake_lambda.events) == 3
    assert all(offsets(event) == [0, 1] for event in fake_lambda.events)
    assert bootstrap.current().store.balances(user).balances == {"USD": 200}


def test_a_partial_failure_is_redelivered_from_the_lowest_failed_offset(
        running: Running, fake_lambda: FakeLambda) -> None:
    committed_at_call: list[int] = []

    def function(event: dict[str, Any]) -> object:
        committed_at_call.append(running.committed())
        if len(fake_lambda.events) > 1:
            return {"batchItemFailures": []}
        key = f"{running.topic}-0"
        return {"batchItemFailures": [{"itemIdentifier": {"partition": key, "offset": o}}
                                      for o in (3, 1)]}
    fake_lambda.function = function
    running.produce([b"r0", b"r1", b"r2", b"r3"])
    running.thread.start()
    wait_until(lambda: running.committed() == 4, "the partition to move past the batch")
    assert [offsets(event) for event in fake_lambda.events] == [[0, 1, 2, 3], [1, 2, 3]]
    assert committed_at_call[1] == 1, "offset 0 stands; 1 and on are redelivered"


@pytest.mark.parametrize("running", [1], indirect=True)
def test_a_poison_record_is_dead_lettered_after_the_retry_bound(
        running: Running, fake_lambda: FakeLambda, real_consumer: Function) -> None:
    user = unique("user")
    fake_lambda.function = real_consumer
    poison = f"not a command {unique('p')}".encode()
    running.produce([*deposits(1, user), poison, *deposits(1, user)])
    running.thread.start()
    wait_until(lambda: running.committed() == 3, "the partition to move past the poison")
    # The first delivery and one retry report it; then it goes to the on-failure destination.
    assert [offsets(event) for event in fake_lambda.events] == [[0, 1, 2], [1, 2], [2]]
    assert bootstrap.current().store.balances(user).balances == {"USD": 200}
    letter = read_one_from(running)
    assert letter.value() == poison
    assert b"batch item failure" in dict(letter.headers() or [])["reason"]


def read_one_from(running: Running) -> Any:
    class Broker:
        bootstrap = running.cluster.bootstrap
    return read_one(Broker(), f"{running.topic}.dlq")  # type: ignore[arg-type]
