"""The e2e suite runs twice: on the embedded engines, and on Kafka + PostgreSQL + Redis.

Every test that takes `server` (or `engine`, to start servers of its own)
is parametrised over both configurations, so the contract is proven the same
on each. The distributed one gets a fresh database, its own topic, consumer
group and Redis namespace per server, on a broker shared by the session.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server, auth, client, unique
from tests.services.kafka import Tansu
from tests.services.postgres import fresh_database
from tests.services.redis import shared_redis_url, unique_namespace

EMBEDDED, SERVICES = "embedded", "kafka+postgres+redis"
# The security suites send many refused requests from one address on purpose, and the rate
# limits have tests of their own: these servers set the limits out of reach.
UNTHROTTLED = {"WALLET_RATE_LIMIT_USER_PER_S": "100000", "WALLET_RATE_LIMIT_USER_BURST": "100000",
               "WALLET_RATE_LIMIT_OPERATOR_PER_S": "0",
               "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "100000"}


class Engine:
    def __init__(self, name: str, broker: Tansu | None) -> None:
        self.name, self.broker = name, broker

    @contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        """What a new server needs to run on this configuration, isolated from all others."""
        if self.broker is None:
            yield {}
            return
        with fresh_database() as database_url:
            yield {"WALLET_KAFKA_BOOTSTRAP": self.broker.bootstrap,
                   "WALLET_KAFKA_TOPIC": unique("commands"), "WALLET_KAFKA_GROUP": unique("g"),
                   "WALLET_DATABASE_URL": database_url, "WALLET_REDIS_URL": shared_redis_url(),
                   "WALLET_REDIS_NAMESPACE": unique_namespace()}


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with Tansu(Path(tmp_path_factory.mktemp("broker"))) as running:
        yield running


@pytest.fixture(scope="session", params=[EMBEDDED, SERVICES])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == EMBEDDED:
        return Engine(EMBEDDED, None)
    return Engine(SERVICES, request.getfixturevalue("broker"))


@pytest.fixture(scope="session")
def server(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("wallet")), env).start()
        yield running
        running.stop()


@pytest.fixture(scope="session")
def unthrottled(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with engine.environment() as env:
        running = Server(Path(tmp_path_factory.mktemp("unthrottled")), env | UNTHROTTLED).start()
        yield running
        running.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with client(server) as session:
        yield session


@pytest.fixture
def operator() -> dict[str, str]:
    return auth("ops", "operator")
