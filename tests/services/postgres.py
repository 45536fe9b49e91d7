"""PostgreSQL for the tests: the server's URL, and a fresh namespace per test or per server.

Two kinds of fresh namespace, both dropped afterwards even when the test fails:

- `fresh_database()`: a whole database, for a separate `wallet serve`
  process. Nothing is shared with other tests, advisory locks included. A
  `CREATE DATABASE` costs some 15-300 ms here, most of it copying the
  template through the WAL.
- `fresh_schema()`: a schema in the shared test database, named first in the
  URL's search_path, for tests inside this process. It costs about 1 ms, so
  every integration test can have its own. Advisory locks are per database,
  so tests running side by side may wait on each other's keys: slower, never
  wrong.

    with fresh_database() as url:
        env = {"WALLET_DATABASE_URL": url, ...}
"""

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VARIABLE = "WALLET_TEST_DATABASE_URL"
NAME_PREFIX = "wallet_t_"  # every database and schema made here, so leftovers are easy to spot
ADMIN_CONNECT_TIMEOUT_S = 5


def base_url(env: Mapping[str, str] | None = None) -> str:
    """The server the tests use: WALLET_TEST_DATABASE_URL, or the local default."""
    return (os.environ if env is None else env).get(URL_VARIABLE) or DEFAULT_URL


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database: only the URL's path changes."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def with_schema(url: str, schema: str) -> str:
    """Every connection made from the URL resolves unqualified names in `schema` first.

    The application name marks those connections, so a drop can end any that a
    failed test left behind.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(options=f"-csearch_path={schema}", application_name=schema)
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def fresh_name() -> str:
    return f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"


@contextmanager
def fresh_database(url: str | None = None) -> Iterator[str]:
    """Creates an empty database, yields its URL, and drops it afterwards."""
    server, name = url or base_url(), fresh_name()
    _administer(server, sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
        sql.Identifier(name)))
    try:
        yield with_database(server, name)
    finally:
        _administer(server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@contextmanager
def fresh_schema(url: str | None = None) -> Iterator[str]:
    """Creates an empty schema, yields a URL that works in it, and drops it afterwards."""
    database, name = url or base_url(), fresh_name()
    _administer(database, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield with_schema(database, name)
    finally:
        _administer(database, sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = {} AND pid <> pg_backend_pid()").format(sql.Literal(name)))
        _administer(database, sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def _administer(url: str, statement: sql.Composed) -> None:
    """CREATE and DROP DATABASE cannot run inside a transaction: autocommit."""
    with psycopg.connect(url, autocommit=True, connect_timeout=ADMIN_CONNECT_TIMEOUT_S) as admin:
        admin.execute(statement)
