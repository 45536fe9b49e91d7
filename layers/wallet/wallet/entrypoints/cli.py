"""The `wallet` command: serve, token, migrate."""

import argparse
import sys

from wallet import bootstrap
from wallet.adapters.jwt_tokens import JwtTokens
from wallet.config import Config, ConfigError
from wallet.domain.access import ROLES, USER_ID, Principal

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
    from wallet.entrypoints.local.serve import serve  # aiohttp loads only when serving

    serve(config)
    return 0


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
    container = bootstrap.build(config)
    print(f"schema version {container.store.migrate()}")
    container.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallet", description="The virtual wallet.")
    commands = parser.add_subparsers(required=True, metavar="command")
    serve = commands.add_parser("serve", help="run the wallet (all parts in one process)")
    serve.add_argument("--role", choices=["all"], default="all")
    serve.set_defaults(run=_serve)
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
