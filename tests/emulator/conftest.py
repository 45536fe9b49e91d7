"""template.yaml deployed to ministack by `localstack/emulator.py up`, the code `make emulator`
runs, on ports, a database and a Redis namespace of the session's own.

The deployment is slow to build (some 10 s: ministack, Tansu, the stack, the command feeder),
so the whole package shares one; tests keep apart through unique user ids.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.config import Config
from wallet.domain.access import Principal

from tests.services.ports import free_port
from tests.services.postgres import fresh_database
from tests.services.redis import shared_redis_url, unique_namespace

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "localstack" / "emulator.py"
EMULATOR_VENV = ROOT / ".venv-emulator" / "bin" / "ministack"
TOKEN_TTL_S = 600
REQUEST_TIMEOUT_S = 20.0  # a cold function imports the wallet first: about a second here


@dataclass(frozen=True)
class Deployment:
    api: str
    websocket: str
    token: str
    data_dir: Path
    port: int
    outputs: dict[str, str]

    def token_for(self, user_id: str, role: str = "user") -> str:
        """Minted as `wallet token` does, from the secret in the deployment's data dir."""
        secret = bootstrap.jwt_secret(Config.from_env({"WALLET_DATA_DIR": str(self.data_dir)}))
        return JwtTokens(secret).issue(Principal(user_id, role), TOKEN_TTL_S)

    def cli_token(self, user_id: str, role: str = "user") -> str:
        """Minted by `wallet token`, as an operator would: the deployment must accept it."""
        minted = subprocess.run(
            [str(Path(sys.executable).parent / "wallet"), "token", user_id, "--role", role],
            env={"WALLET_DATA_DIR": str(self.data_dir), "PATH": ""}, check=True,
            capture_output=True, text=True)
        return minted.stdout.strip()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    assert EMULATOR_VENV.exists(), "the emulator is not installed: make emulator-install"
    data_dir = tmp_path_factory.mktemp("emulator")
    port = free_port()
    with fresh_database() as database_url:
        command = [sys.executable, str(EMULATOR), "--port", str(port),
                   "--kafka-port", str(free_port()), "--database-url", database_url,
                   "--redis-url", shared_redis_url(), "--redis-namespace", unique_namespace(),
                   "--data-dir", str(data_dir)]
        try:
            subprocess.run([*command, "up"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            written = json.loads((data_dir / "emulator.json").read_text())
            outputs = json.loads((data_dir / "emulator" / "outputs.json").read_text())
            yield Deployment(written["api"], written["websocket"], written["token"], data_dir,
                             port, outputs)
        finally:
            subprocess.run([*command, "down"], check=True, cwd=ROOT)


@pytest.fixture
def api(emulator: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.api, timeout=REQUEST_TIMEOUT_S) as client:
        yield client
