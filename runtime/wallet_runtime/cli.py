"""The `wallet` command: serve, services, bridge, token, migrate, verify."""

import argparse
import json
import os
import sys

from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.config import PROCESS_ROLES, Config, ConfigError
from wallet.domain.access import ROLES, USER_ID, Principal
from wallet.domain.errors import Unavailable
from wallet.service_layer.audit import verify_journal

TOKEN_TTL_S_MAX = 30 * 24 * 3600


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return int(arguments.run(config, arguments) or 0)


def _serve(config: Config, arguments: argparse.Namespace) -> int:
    from wallet_runtime.serve import role_problem, serve  # aiohttp loads only here

    role = arguments.role or config.role
    problem = role_problem(config, role)
    if problem is not None:
        print(f"configuration error: {problem}", file=sys.stderr)
        return 2
    serve(config, role)
    return 0


def _services(config: Config, arguments: argparse.Namespace) -> int:
    from wallet_runtime.services import run_services

    try:
        return run_services(config, arguments.gateways, arguments.consumers,
                            arguments.broker_port)
    except Unavailable as error:  # PostgreSQL, Redis or Kafka is not there to start on
        print(f"cannot start the services: {error.message}", file=sys.stderr)
        return 2


def _bridge(config: Config, arguments: argparse.Namespace) -> int:
    from wallet_runtime.bridge_main import run_bridge  # boto3 loads only here

    if config.kafka_bootstrap is None:
        print("configuration error: wallet bridge needs WALLET_KAFKA_BOOTSTRAP", file=sys.stderr)
        return 2
    try:
        return run_bridge(config, arguments.function_name, arguments.endpoint_url,
                          arguments.batch_size, arguments.max_retry_attempts)
    except Unavailable as error:  # the broker, or the SASL secret, is not there to start on
        print(f"cannot start the bridge: {error.message}", file=sys.stderr)
        return 2


def _token(config: Config, arguments: argparse.Namespace) -> int:
    if not USER_ID.fullmatch(arguments.user_id):
        print("userId must be 1 to 64 of A-Z a-z 0-9 _ . @ -", file=sys.stderr)
        return 2
    if not 0 < arguments.ttl <= TOKEN_TTL_S_MAX:
        print(f"--ttl must be from 1 to {TOKEN_TTL_S_MAX} seconds", file=sys.stderr)
        return 2
    tokens = JwtTokens(bootstrap.jwt_secret(config))
    print(tokens.issue(Principal(arguments.user_id, arguments.role), arguments.ttl))
    return 0


def _migrate(config: Config, arguments: argparse.Namespace) -> int:
    store = bootstrap.open_store(config)
    try:
        print(f"schema version {store.migrate()}")
    finally:
        store.close()
    return 0


def _verify(config: Config, arguments: argparse.Namespace) -> int:
    """The report as JSON on stdout; exits 1 when it names a problem, 2 when it cannot run.

    It only reads: it never migrates, so a read-only database role can run it."""
    if arguments.user_id is not None and not USER_ID.fullmatch(arguments.user_id):
        print("--user-id must be 1 to 64 of A-Z a-z 0-9 _ . @ -", file=sys.stderr)
        return 2
    store = bootstrap.open_store(config)
    try:
        report = verify_journal(store, arguments.user_id)
    except Unavailable as error:
        print(f"cannot read the journal: {error.message}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(json.dumps(report.to_json(), indent=2))
    return 0 if report.clean else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallet", description="The virtual wallet.")
    commands = parser.add_subparsers(required=True, metavar="command")
    serve = commands.add_parser("serve", help="run the wallet, or one part of it")
    serve.add_argument("--role", choices=PROCESS_ROLES, default=None,
                       help="all: everything in one process (default, or WALLET_ROLE); "
                       "gateway: the HTTP API, the dashboard and its websocket; "
                       "consumer: applies the command log; relay: websocket events")
    serve.set_defaults(run=_serve)
    services = commands.add_parser(
        "services", help="run the split topology on Kafka, PostgreSQL and Redis, supervised")
    services.add_argument("--gateways", type=int, choices=range(1, 9), default=2, metavar="N")
    services.add_argument("--consumers", type=int, choices=range(1, 9), default=2, metavar="N")
    services.add_argument("--broker-port", type=int, default=9092,
                          help="where to run the local broker when WALLET_KAFKA_BOOTSTRAP is unset")
    services.set_defaults(run=_services)
    _bridge_parser(commands)
    token = commands.add_parser("token", help="print a signed token")
    token.add_argument("user_id", metavar="userId")
    token.add_argument("--role", choices=sorted(ROLES), default="user")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(run=_token)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)
    verify = commands.add_parser(
        "verify", help="recompute the journal's hash chains and sums; exit 1 on any problem")
    verify.add_argument("--user-id", default=None, metavar="ID",
                        help="check this wallet's accounts only (default: every account)")
    verify.set_defaults(run=_verify)
    return parser


def _bridge_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from wallet_runtime.esm_bridge import MAX_RETRY_ATTEMPTS_DEFAULT

    bridge = commands.add_parser(
        "bridge", help="the stand-in for Lambda's Kafka event source mapping: feed the "
        "command topic to a deployed consumer function through the Lambda Invoke API")
    bridge.add_argument("--function-name", required=True, metavar="NAME")
    bridge.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        metavar="URL", help="the Lambda API (default: $AWS_ENDPOINT_URL)")
    bridge.add_argument("--batch-size", type=int, choices=range(1, 10_001), default=500,
                        metavar="N", help="records per invocation (1-10000, default 500)")
    bridge.add_argument("--max-retry-attempts", type=int, choices=range(0, 10_001),
                        default=MAX_RETRY_ATTEMPTS_DEFAULT, metavar="N",
                        help="retries of a reported record before it goes to <topic>.dlq "
                        f"(default {MAX_RETRY_ATTEMPTS_DEFAULT})")
    bridge.set_defaults(run=_bridge)


if __name__ == "__main__":
    sys.exit(main())
