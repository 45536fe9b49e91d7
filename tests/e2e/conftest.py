from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server, auth, client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(Path(tmp_path_factory.mktemp("wallet"))).start()
    yield running
    running.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with client(server) as session:
        yield session


@pytest.fixture
def operator() -> dict[str, str]:
    return auth("ops", "operator")
