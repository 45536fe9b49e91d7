"""bench/: reading k6's summary and checking a result file's shape, with no load run.

bench/ holds scripts run from their folder, so the modules are loaded by path.
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check, k6, report = _load("check"), _load("k6"), _load("report")
FIGURES = {"rps": 100.0, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "errors": 0}


def _results() -> dict[str, Any]:
    scenarios = {f"{configuration}/{scenario}": dict(FIGURES)
                 for configuration in ("embedded", "services")
                 for scenario in ("deposit", "mixed", "hot", "read")}
    return {"machine": {"cores": 2},
            "references": {"hello_rps": 1000.0, "pgbench_tps": 500.0,
                           "engine_commands_per_s": 5000.0},
            "scenarios": scenarios, "ws_delivery_ms": {"p50": 1.0, "p99": 2.0}}


def test_a_complete_result_has_no_problem() -> None:
    assert check.problems(_results()) == []


def test_each_missing_part_is_named() -> None:
    results = _results()
    del results["references"]["pgbench_tps"]
    del results["scenarios"]["services/hot"]
    del results["scenarios"]["embedded/read"]["p99_ms"]
    assert sorted(check.problems(results)) == [
        "embedded/read lacks p99_ms", "no services/hot", "references lack pgbench_tps"]


def test_k6_errors_are_the_failed_share_of_all_requests() -> None:
    summary = {"metrics": {
        "http_reqs": {"count": 2000, "rate": 400.0},
        "http_req_duration": {"med": 4.0, "p(95)": 9.0, "p(99)": 12.0},
        "http_req_failed": {"value": 0.0015},
        "pending_202": {"count": 1}}}
    figures = k6.figures(summary)
    assert (figures["rps"], figures["p99_ms"], figures["errors"], figures["pending_202"]) \
        == (400.0, 12.0, 3, 1)


def test_the_table_shows_each_ratio_to_each_reference() -> None:
    lines = report.table(_results()).splitlines()
    row = next(line for line in lines if line.startswith("embedded/deposit "))
    assert row.split()[-3:] == ["0.10", "0.20", "0.02"]
