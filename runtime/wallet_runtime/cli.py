"""The `wallet` command: serve, services, token, migrate."""

import argparse
import sys

from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.config import PROCESS_ROLES, Config, ConfigError
from wallet.domain.access import ROLES, USER_ID, Principal
from wallet.domain.errors import Unavailable

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
    token = commands.add_parser("token", help="print a signed token")
    token.add_argument("user_id", metavar="userId")
    token.add_argument("--role", choices=sorted(ROLES), default="user")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(run=_token)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)
    return parser


if __name__ == "__main__":
    sys.exit(main())
