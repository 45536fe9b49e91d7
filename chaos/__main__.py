"""`make chaos`: the bank test on the split topology and the embedded default, then a report.

    python -m chaos --duration 120 --config both --results-dir chaos-results

Prints a summary per configuration and writes chaos-results/<UTC time>.json.
Exits 1 on any violation, on a run that injected fewer fault kinds than
`--min-fault-kinds`, or on one that completed no operation.
"""

import argparse
import asyncio
import json
import secrets
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.nemesis import GAP_S
from chaos.run import Settings, bank_test, make_stack

CONFIGURATIONS = ("services", "embedded")


def main() -> int:
    arguments = _parser().parse_args()
    names = CONFIGURATIONS if arguments.config == "both" else (arguments.config,)
    settings = Settings(arguments.duration, arguments.wallets, arguments.clients,
                        arguments.seed if arguments.seed is not None else secrets.randbits(32),
                        tuple(arguments.fault_gap))
    secret = secrets.token_urlsafe(48)
    started = datetime.now(UTC)
    runs: list[dict[str, Any]] = []
    scratch = Path(tempfile.mkdtemp(prefix="wallet-chaos-"))
    problems = ["the run did not finish"]
    try:
        for name in names:
            print(f"[{datetime.now(UTC):%H:%M:%S}] {name}: {settings.duration_s:.0f} s, "
                  f"{settings.clients} clients, {settings.wallets} wallets, "
                  f"seed {settings.seed}", flush=True)
            runs.append(asyncio.run(bank_test(make_stack(name, scratch, secret), settings,
                                              secret)))
            print(summary(runs[-1]), flush=True)
        problems = _problems(runs, arguments.min_fault_kinds)
    finally:
        path = _write(combined(runs, started), arguments.results_dir, started)
        _keep_if_failed(scratch, problems, path.with_suffix(""))
    for problem in problems:
        print(f"FAILED: {problem}", flush=True)
    print(f"wrote {path}", flush=True)
    return 1 if problems else 0


def _keep_if_failed(scratch: Path, problems: list[str], keep: Path) -> None:
    """A failed run's logs and data are its evidence: kept beside its report."""
    if problems:
        shutil.move(scratch, keep)
        print(f"kept the processes' logs and data in {keep}", flush=True)
    else:
        shutil.rmtree(scratch, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load and faults "
                        "per configuration")
    parser.add_argument("--config", choices=(*CONFIGURATIONS, "both"), default="both")
    parser.add_argument("--wallets", type=int, default=24)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, reported")
    parser.add_argument("--fault-gap", type=float, nargs=2, default=GAP_S, metavar=("MIN", "MAX"),
                        help="seconds from one fault's healing to the next (default %(default)s)")
    parser.add_argument("--results-dir", type=Path, default=Path("chaos-results"))
    parser.add_argument("--min-fault-kinds", type=int, default=1,
                        help="fail a run that injected fewer kinds of fault than this")
    return parser


def combined(runs: list[dict[str, Any]], started: datetime) -> dict[str, Any]:
    faults: dict[str, int] = {}
    for run in runs:
        for kind, count in run["faults"].items():
            faults[kind] = faults.get(kind, 0) + count
    return {"started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "operations": sum(run["operations"] for run in runs),
            "faults": dict(sorted(faults.items())),
            "unknown_resolved": sum(run["unknown_resolved"] for run in runs),
            "violations": [{**v, "configuration": run["configuration"]}
                           for run in runs for v in run["violations"]],
            "runs": runs}


def summary(run: dict[str, Any]) -> str:
    faults = ", ".join(f"{kind} {count}" for kind, count in run["faults"].items()) or "none"
    violations = sum(run["violation_counts"].values())
    holds = run["holds"]
    lines = [
        f"  {run['configuration']}: {run['operations']} operations in {run['load_s']} s "
        f"({run['operations_per_s']}/s): {run['acknowledged']} acknowledged, "
        f"{run['rejected']} rejected",
        f"  faults ({sum(run['faults'].values())}): {faults}",
        f"  retries {run['retries']}; unknown after the run {run['unknown_after_run']}, "
        f"resolved {run['unknown_resolved']}; websocket events {run['websocket']['events']}",
        f"  answers: {run['answers']}",
        f"  holds: {holds['placed']} placed, {holds['captured']} captured, {holds['voided']} "
        f"voided ({holds['raced']} raced); refused {holds['refused']}; "
        f"final states {holds['ended']}",
        f"  violations: {violations} {run['violation_counts'] or ''}".rstrip(),
    ]
    lines += [f"    {v['check']}: {v['detail'][:300]}" for v in run["violations"][:20]]
    return "\n".join(lines)


def _problems(runs: list[dict[str, Any]], min_fault_kinds: int) -> list[str]:
    problems = []
    for run in runs:
        name = run["configuration"]
        if run["violation_counts"]:
            problems.append(f"{name}: {sum(run['violation_counts'].values())} violations")
        if len(run["faults"]) < min_fault_kinds:
            problems.append(f"{name}: {len(run['faults'])} kinds of fault injected, "
                            f"fewer than {min_fault_kinds}")
        if run["acknowledged"] == 0:
            problems.append(f"{name}: no operation was acknowledged")
    return problems


def _write(report: dict[str, Any], results_dir: Path, started: datetime) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{started:%Y-%m-%dT%H-%M-%SZ}.json"
    path.write_text(json.dumps(report, indent=2))
    return path


if __name__ == "__main__":
    sys.exit(main())
