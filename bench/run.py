"""`make bench`: the wallet under k6, beside references measured in the same run.

Phases, each announced on its own line: the references (a hello-world on the
wallet's own HTTP server stack, pgbench TPC-B, the ledger engine alone); the
embedded wallet (`wallet serve`) under the four loadtest/ scenarios, the
deposit scenario at each connection step and open loop at half its peak with
a websocket delivery probe; the split topology (`wallet services`, 2 gateways
and 2 consumers) under the same scenarios; and the split topology with one
consumer, for the step from 1 to 2; then the references again, as other work
on a shared machine comes and goes, and the table divides by their mean.
Then one table, a JSON file and a chart in bench-results/.

Nothing here asserts on time: the numbers are for people to read and compare.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import idle
import jwt
import k6
import references
import report
import stacks
import ws_probe

ROOT = Path(__file__).resolve().parents[1]
DATABASE_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
SECONDS_DEFAULT = 20
CONNECTION_STEPS_DEFAULT = "64,256,1000,10000"
SCENARIO_VUS = 256  # mixed, hot, read and hello: the connection step the goals compare at
OPEN_LOOP_VUS = 1000  # half the peak rate through a stall of about a second drops no arrival
WALLETS = 10_000
TOKEN_TTL_S = 3600
FOLLOW_UPS_FROM_S = 10  # shorter runs (the smoke run) leave out the steps below
LARGE_STEP_VUS = 10_000  # k6 alone takes 2.5 GB and both cores for it: it may not fit a machine
Scenarios = dict[str, dict[str, float]]


def main() -> int:
    arguments = _parser().parse_args()
    k6_path = k6.find_k6()
    if k6_path is None:
        print("k6 is not installed; run `make bench`, which installs it", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(48)
    tokens = mint_tokens(secret)
    bench = Bench(k6_path, tokens, arguments.seconds, arguments.database_server)
    steps = [int(step) for step in arguments.connections.split(",")]
    if arguments.seconds < FOLLOW_UPS_FROM_S:
        steps = [step for step in steps if step < LARGE_STEP_VUS]
    results = bench.run(secret, steps)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    data, chart = report.write(results, arguments.results_dir, stamp)
    print(report.table(results), flush=True)
    print(f"wrote {data} and {chart}", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int,
                        default=int(os.environ.get("BENCH_SECONDS", SECONDS_DEFAULT)),
                        help="length of each load step (env BENCH_SECONDS)")
    parser.add_argument("--connections", default=CONNECTION_STEPS_DEFAULT,
                        help="deposit connection steps on the embedded wallet, comma-separated")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--database-server", default=DATABASE_SERVER_URL, metavar="URL",
                        help="PostgreSQL server for pgbench, the engine and the split topology "
                        f"(default {DATABASE_SERVER_URL})")
    return parser


def mint_tokens(secret: str) -> dict[str, Any]:
    expires = int(time.time()) + TOKEN_TTL_S
    users = [[f"bench-{n}", jwt.encode({"sub": f"bench-{n}", "role": "user", "exp": expires},
                                       secret, algorithm="HS256")] for n in range(WALLETS)]
    operator = jwt.encode({"sub": "operator", "role": "operator", "exp": expires}, secret,
                          algorithm="HS256")
    return {"users": users, "operator": operator}


def say(phase: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {phase}", flush=True)


class Bench:
    def __init__(self, k6_path: str, tokens: dict[str, Any], seconds: int,
                 server_url: str) -> None:
        self.k6_path, self.tokens, self.seconds, self.server_url = \
            k6_path, tokens, seconds, server_url
        self.scenarios: Scenarios = {}
        self.extra: dict[str, Any] = {"skipped": {}, "ws_delivery_ms_by_configuration": {}}

    def run(self, secret: str, steps: list[int]) -> dict[str, Any]:
        results: dict[str, Any] = {"machine": report.machine(), "seconds_per_step": self.seconds}
        measured = [self.references("start")]
        if LARGE_STEP_VUS in steps:  # what the load generator alone does at that many VUs
            say(f"reference: hello-world at {LARGE_STEP_VUS} VUs")
            self.extra[f"hello_at_{LARGE_STEP_VUS}_vus"] = references.hello_rps(
                self.k6_path, k6.Load("hello", LARGE_STEP_VUS, self.seconds), self.tokens)
        with tempfile.TemporaryDirectory(prefix="wallet-bench-") as scratch:
            for name, stack, deposit_steps in self._configurations(secret, Path(scratch), steps):
                self.configuration(name, stack, deposit_steps)
        if self.seconds >= FOLLOW_UPS_FROM_S:  # other work on a shared machine comes and goes
            measured.append(self.references("end"))
        self.extra["references_measured"] = measured
        results["references"] = {key: statistics.fmean(each[key] for each in measured)
                                 for key in measured[0]}
        by_configuration = self.extra["ws_delivery_ms_by_configuration"]
        results["scenarios"] = self.scenarios
        results["ws_delivery_ms"] = by_configuration.get("services") or \
            by_configuration.get("embedded") or {"p50": 0.0, "p99": 0.0}
        return {**results, **self.extra}

    def _configurations(self, secret: str, scratch: Path, steps: list[int]) -> Iterator[
            tuple[str, Callable[[], AbstractContextManager[stacks.Stack]], list[int]]]:
        yield "embedded", lambda: stacks.embedded_stack(secret, scratch / "embedded"), steps
        yield "services", lambda: stacks.split_stack(
            secret, scratch / "services", self.server_url), [SCENARIO_VUS]
        if self.seconds >= FOLLOW_UPS_FROM_S:
            yield "services-1-consumer", lambda: stacks.split_stack(
                secret, scratch / "one-consumer", self.server_url, consumers=1), []

    def references(self, when: str) -> dict[str, float]:
        """Measured at the start, and again at the end of a full run: the table uses the mean."""
        say(f"reference ({when}): hello-world on the wallet's HTTP stack, {SCENARIO_VUS} VUs")
        hello = references.hello_rps(self.k6_path, k6.Load("hello", SCENARIO_VUS, self.seconds),
                                     self.tokens)
        self.extra[f"hello_{when}"] = hello
        say(f"reference ({when}): pgbench TPC-B -s {references.PGBENCH_SCALE}, "
            f"{references.PGBENCH_CLIENTS} clients")
        pgbench = references.pgbench_tps(self.server_url, self.seconds)
        say(f"reference ({when}): the ledger engine alone (bench/engine.py)")
        engine = references.engine_commands_per_s(self.server_url, self.seconds)
        if self.seconds >= FOLLOW_UPS_FROM_S and when == "start":
            say("reference: the ledger engine alone, every command on 10 wallets")
            self.extra["engine_hot_commands_per_s"] = references.engine_commands_per_s(
                self.server_url, self.seconds, hot=True)
        return {"hello_rps": hello["rps"], "pgbench_tps": pgbench,
                "engine_commands_per_s": engine}

    def configuration(self, name: str,
                      stack: Callable[[], AbstractContextManager[stacks.Stack]],
                      deposit_steps: list[int]) -> None:
        say(f"{name}: starting")
        with stack() as started:
            if name == "embedded":
                self.idle_memory(started)
            if not deposit_steps:  # a follow-up: only the scenario it compares
                self.load(name, "deposit", started, SCENARIO_VUS)
                return
            for vus in deposit_steps:
                self.load(name, "deposit", started, vus)
            for scenario in ("mixed", "hot", "read"):
                self.load(name, scenario, started, SCENARIO_VUS)
            self.open_loop(name, started)
        say(f"{name}: stopped")

    def load(self, configuration: str, scenario: str, stack: stacks.Stack, vus: int) -> None:
        key = f"{configuration}/{scenario}" + ("" if vus == SCENARIO_VUS else f"@{vus}")
        say(f"{key}: {vus} VUs for {self.seconds} s")
        try:
            figures = k6.run(self.k6_path, k6.Load(scenario, vus, self.seconds), stack.urls,
                             self.tokens)
        except (RuntimeError, OSError) as error:
            if vus < LARGE_STEP_VUS:
                raise
            self.extra["skipped"][key] = str(error)
            say(f"{key}: skipped: {error}")
            return
        self.scenarios[key] = {**figures, "vus": vus}

    def open_loop(self, configuration: str, stack: stacks.Stack) -> None:
        peak = max(figures["rps"] for key, figures in self.scenarios.items()
                   if key.startswith(f"{configuration}/deposit"))
        rate = max(1, int(peak / 2))
        key = f"{configuration}/deposit-open"
        say(f"{key}: {rate} requests/s (half the peak), with a websocket delivery probe")
        with ws_probe.DeliveryProbe(stack.urls[0], stack.websocket_url,
                                    self.tokens["operator"]) as probe:
            figures = k6.run(self.k6_path, k6.Load("deposit", OPEN_LOOP_VUS, self.seconds, rate),
                             stack.urls, self.tokens)
        self.scenarios[key] = {**figures, "vus": OPEN_LOOP_VUS, "rate": rate}
        self.extra["ws_delivery_ms_by_configuration"][configuration] = _percentiles(
            probe.delays_ms(), probe.missing)

    def idle_memory(self, stack: stacks.Stack) -> None:
        say(f"embedded: memory per idle connection ({idle.IDLE_CONNECTIONS} held open)")
        self.extra["idle_connection_bytes"] = round(
            idle.bytes_per_idle_connection(stack.urls[0], stack.pids[0]))


def _percentiles(delays_ms: list[float], missing: int) -> dict[str, float]:
    if len(delays_ms) < 2:
        return {"p50": delays_ms[0] if delays_ms else 0.0, "p99": delays_ms[-1] if delays_ms
                else 0.0, "samples": len(delays_ms), "missing": missing}
    cuts = statistics.quantiles(delays_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "samples": len(delays_ms), "missing": missing}


if __name__ == "__main__":
    sys.exit(main())
