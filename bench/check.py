"""The smoke run's only check: the bench completed and wrote its file, in the promised shape.

Nothing here looks at a figure's size: the smoke run is too short, and the
machine too shared, for a number to mean anything.
"""

import json
import sys
from pathlib import Path
from typing import Any

REFERENCE_KEYS = {"hello_rps", "pgbench_tps", "engine_commands_per_s"}
SCENARIO_KEYS = {"rps", "p50_ms", "p95_ms", "p99_ms", "errors"}
DELIVERY_KEYS = {"p50", "p99"}
SCENARIOS = {"deposit", "mixed", "hot", "read"}


def problems(results: dict[str, Any]) -> list[str]:
    found = [f"no {key}" for key in ("machine", "references", "scenarios", "ws_delivery_ms")
             if key not in results]
    if found:
        return found
    found += [f"references lack {key}" for key in REFERENCE_KEYS - results["references"].keys()]
    found += [f"ws_delivery_ms lacks {key}" for key in DELIVERY_KEYS
              - results["ws_delivery_ms"].keys()]
    for name, figures in results["scenarios"].items():
        found += [f"{name} lacks {key}" for key in SCENARIO_KEYS - figures.keys()]
    for configuration in ("embedded", "services"):
        found += [f"no {configuration}/{scenario}" for scenario in SCENARIOS
                  if f"{configuration}/{scenario}" not in results["scenarios"]]
    return found


def main(directory: Path) -> int:
    written = sorted(directory.glob("*.json"))
    if len(written) != 1 or not written[0].with_suffix(".html").exists():
        print(f"expected one result file and its chart in {directory}, found {written}")
        return 1
    found = problems(json.loads(written[0].read_text()))
    for problem in found:
        print(f"{written[0]}: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
