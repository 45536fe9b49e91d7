"""What the wallet's figures are compared with, measured in the same run on the same machine."""

import re
import secrets
import subprocess
from typing import Any

import engine
import k6
import stacks

PGBENCH_SCALE = 10
PGBENCH_CLIENTS = 16
PGBENCH_THREADS = 2  # one per core of the 2-core machine the issue measured on
PGBENCH_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
PGBENCH_TIMEOUT_EXTRA_S = 120  # the -s 10 initialisation, past the timed run
ENGINE_BATCH_SIZE = 500
ENGINE_WALLETS = 10_000
ENGINE_COMMANDS_PER_S_EXPECTED = 2_500  # sizes the work to about the run's seconds


def hello_rps(k6_path: str, load: k6.Load, tokens: dict[str, Any]) -> dict[str, float]:
    with stacks.hello_stack() as stack:
        return k6.run(k6_path, load, stack.urls, tokens)


def pgbench_tps(server_url: str, seconds: int) -> float:
    """TPC-B as pgbench runs it by default, in a scratch database created and dropped here."""
    with stacks.fresh_database(server_url, f"wallet_pgbench_{secrets.token_hex(6)}") as url:
        _pgbench(["-i", "-s", str(PGBENCH_SCALE), "-q", url], seconds)
        output = _pgbench(["-c", str(PGBENCH_CLIENTS), "-j", str(PGBENCH_THREADS),
                           "-T", str(seconds), url], seconds)
    found = PGBENCH_TPS.search(output)
    if found is None:
        raise RuntimeError("pgbench printed no tps line")
    return float(found.group(1))


def _pgbench(arguments: list[str], seconds: int) -> str:
    done = subprocess.run(["pgbench", *arguments], capture_output=True, text=True, check=True,
                          timeout=seconds + PGBENCH_TIMEOUT_EXTRA_S)
    return done.stdout


def engine_commands_per_s(server_url: str, seconds: int, hot: bool = False) -> float:
    commands = max(ENGINE_BATCH_SIZE, seconds * ENGINE_COMMANDS_PER_S_EXPECTED)
    return engine.measure(server_url, commands, ENGINE_BATCH_SIZE, ENGINE_WALLETS,
                          hot)["commands_per_s"]
