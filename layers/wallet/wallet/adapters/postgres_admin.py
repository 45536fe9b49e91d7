"""Creating the wallet's database on a PostgreSQL server, for the local split topology.

Production databases are provisioned by their owners; `wallet services`
creates its own so that one command is enough on a fresh machine.
"""

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from wallet.domain.errors import Unavailable

MAINTENANCE_DATABASE = "postgres"
CONNECT_TIMEOUT_S = 5


def create_database_if_missing(url: str) -> None:
    name = str(conninfo_to_dict(url).get("dbname") or "")
    assert name, "the database URL names its database"
    maintenance = make_conninfo(url, dbname=MAINTENANCE_DATABASE,
                                connect_timeout=CONNECT_TIMEOUT_S)
    try:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if found is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return  # another process created it between the look and the create
    except psycopg.OperationalError as exc:
        raise Unavailable("PostgreSQL is unreachable; is it running?") from exc
