"""The ledger engine alone: `apply_batch` on pre-built commands, on PostgreSQL, no HTTP, no log.

`measure` creates a fresh database, funds the wallets, builds every envelope
up front (half deposits, half transfers) and times only the batches going
through `apply_batch`, then drops the database. The CLI prints that figure
beside a pgbench TPC-B run on the same server, measured in the same run, as
a ratio: absolute numbers on a shared machine mean little, ratios travel.

    python bench/engine.py --commands 20000 --batch-size 500
"""

import argparse
import json
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from psycopg.conninfo import conninfo_to_dict
from stacks import fresh_database
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.postgres import PostgresDialect
from wallet.adapters.sql_store import SqlLedgerStore
from wallet.domain.commands import Deposit, Envelope, LedgerCommand, Transfer, request_hash
from wallet.service_layer.ledger import apply_batch

DATABASE_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
HOT_WALLETS = 10  # the `hot` scenario: every operation on this many wallets
SEED_MINOR = 10**12  # each wallet's first deposit: no transfer of a run is ever refused
AMOUNT_MINOR_MAX = 1_000
SEED_BATCH_SIZE = 1_000
NAME_PREFIX = "wallet_bench_"  # every database made here, so leftovers are easy to spot


def _scratch_name() -> str:
    return f"{NAME_PREFIX}{uuid.uuid4().hex[:12]}"
PGBENCH_SCALE, PGBENCH_CLIENTS, PGBENCH_SECONDS_DEFAULT = 10, 16, 10


def measure(
    database_url: str, commands: int, batch_size: int, wallets: int, hot: bool = False,
    *, consumers: int = 1,
) -> dict[str, float]:
    """Commands per second through `apply_batch`, in a database made and dropped for the run.

    `consumers` stores, each with its own connections as a consumer process
    has, share the batches, as consumers of a partitioned log do.
    """
    assert commands > 0 and batch_size > 0 and wallets >= 2 and consumers >= 1
    names = [f"w{number}" for number in range(HOT_WALLETS if hot else wallets)]
    envelopes = _commands(random.Random(commands), names, commands)
    batches = [envelopes[start:start + batch_size] for start in range(0, commands, batch_size)]
    with fresh_database(database_url, _scratch_name()) as url:
        stores = [SqlLedgerStore(PostgresDialect(url, pool_size_max=1)) for _ in range(consumers)]
        try:
            stores[0].migrate()
            seeds = [_envelope(Deposit(name, SEED_MINOR, "USD")) for name in names]
            _run(stores[0], [seeds[at:at + SEED_BATCH_SIZE]
                             for at in range(0, len(seeds), SEED_BATCH_SIZE)])
            started = time.perf_counter()
            _apply_side_by_side(stores, batches)
            elapsed_s = time.perf_counter() - started
        finally:
            for store in stores:
                store.close()
    return {"commands_per_s": commands / elapsed_s, "commands": float(commands),
            "batch_size": float(batch_size), "consumers": float(consumers),
            "elapsed_s": elapsed_s}


def _commands(rng: random.Random, names: Sequence[str], count: int) -> list[Envelope]:
    built = []
    for number in range(count):
        amount = rng.randint(1, AMOUNT_MINOR_MAX)
        command: LedgerCommand
        if number % 2 == 0:
            command = Deposit(rng.choice(names), amount, "USD")
        else:
            source, target = rng.sample(names, 2)
            command = Transfer(source, target, amount, "USD")
        built.append(_envelope(command))
    return built


def _envelope(command: LedgerCommand) -> Envelope:
    return Envelope(uuid.uuid4().hex, request_hash(command), command, uuid.uuid4().hex)


def _now() -> datetime:
    return datetime.now(UTC)


def _apply_side_by_side(
    stores: Sequence[SqlLedgerStore], batches: Sequence[Sequence[Envelope]]
) -> None:
    """One store applies on this thread, so that a profiler of this thread sees it all."""
    if len(stores) == 1:
        _run(stores[0], batches)
        return
    with ThreadPoolExecutor(len(stores)) as pool:
        shares = [batches[number::len(stores)] for number in range(len(stores))]
        list(pool.map(_run, stores, shares))


def _run(store: SqlLedgerStore, batches: Sequence[Sequence[Envelope]]) -> None:
    cache = MemoryBalanceCache()
    for batch in batches:
        apply_batch(store, cache, batch, _now)


def pgbench_tps(database_url: str, seconds: int = PGBENCH_SECONDS_DEFAULT) -> float:
    """TPC-B (`pgbench -i -s 10`, 16 clients) in a scratch database on the same server."""
    with fresh_database(database_url, _scratch_name()) as url:
        target = conninfo_to_dict(url)
        flags = [f"--host={target.get('host', '127.0.0.1')}", f"--port={target.get('port', 5432)}",
                 f"--username={target.get('user', 'postgres')}"]
        database = str(target["dbname"])
        subprocess.run(["pgbench", *flags, "-i", "-q", "-s", str(PGBENCH_SCALE), database],
                       check=True, capture_output=True)
        run = subprocess.run(["pgbench", *flags, "-c", str(PGBENCH_CLIENTS), "-j", "2",
                              "-T", str(seconds), database],
                             check=True, capture_output=True, text=True)
    found = re.search(r"tps = ([0-9.]+)", run.stdout)
    assert found is not None, f"pgbench printed no tps: {run.stdout}"
    return float(found.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL_DEFAULT)
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--hot", action="store_true", help=f"every op on {HOT_WALLETS} wallets")
    parser.add_argument("--consumers", type=int, default=1, help="stores applying side by side")
    parser.add_argument("--pgbench-seconds", type=int, default=PGBENCH_SECONDS_DEFAULT)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    engine = measure(args.database_url, args.commands, args.batch_size, args.wallets, args.hot,
                     consumers=args.consumers)
    tps = pgbench_tps(args.database_url, args.pgbench_seconds)
    figures = {**engine, "pgbench_tps": tps, "ratio": engine["commands_per_s"] / tps}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"engine {engine['commands_per_s']:,.0f} commands/s "
              f"(batches of {args.batch_size}, {args.consumers} consumer(s)"
              f"{', hot' if args.hot else ''}); "
              f"pgbench TPC-B {tps:,.0f} tps; ratio {figures['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
