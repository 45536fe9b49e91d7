"""What a run leaves: the table it prints, its JSON file and its chart (HTML with inline SVG)."""

import html
import json
import os
import platform
from pathlib import Path
from typing import Any

# Each scenario's requests/s over each reference's rate: the goals are these ratios.
REFERENCES = (("hello_rps", "/hello"), ("pgbench_tps", "/pgbench"),
              ("engine_commands_per_s", "/engine"))
BAR_HEIGHT_PX = 22
LABEL_WIDTH_PX = 260
PLOT_WIDTH_PX = 520
VALUE_WIDTH_PX = 110


def machine() -> dict[str, Any]:
    memory_kib = next(int(line.split()[1]) for line in
                      Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "cpu": _cpu_model(), "python": platform.python_version(),
            "kernel": platform.release(), "system": platform.system(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2)}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def table(results: dict[str, Any]) -> str:
    references = results["references"]
    header = f"{'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}" \
             f"{'errors':>8}{'202s':>6}{'dropped':>8}" \
             + "".join(f"{label:>10}" for _, label in REFERENCES)
    rows = [header, "-" * len(header)]
    for name, figures in results["scenarios"].items():
        ratios = "".join(f"{figures['rps'] / references[key]:>10.2f}" if references.get(key)
                         else f"{'-':>10}" for key, _ in REFERENCES)
        rows.append(f"{name:<34}{figures['rps']:>9.0f}{figures['p50_ms']:>9.1f}"
                    f"{figures['p95_ms']:>9.1f}{figures['p99_ms']:>9.1f}"
                    f"{figures['errors']:>8}{figures.get('pending_202', 0):>6}"
                    f"{figures.get('dropped_iterations', 0):>8}{ratios}")
    rows.append("")
    rows.append("references: " + ", ".join(f"{key} {value:.0f}"
                                           for key, value in references.items()))
    delivery = results["ws_delivery_ms"]
    by_configuration = results.get("ws_delivery_ms_by_configuration") or {"": delivery}
    for configuration, figures in by_configuration.items():
        rows.append(f"commit → balanceUpdated {configuration} (ms): p50 {figures['p50']:.1f}, "
                    f"p99 {figures['p99']:.1f} ({figures.get('samples', 0)} samples)")
    if "idle_connection_bytes" in results:
        rows.append(f"memory per idle connection (embedded): "
                    f"{results['idle_connection_bytes'] / 1024:.1f} KiB")
    rows += [f"skipped {key}: {why}" for key, why in results.get("skipped", {}).items()]
    return "\n".join(rows)


def write(results: dict[str, Any], directory: Path, stamp: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data, chart = directory / f"{stamp}.json", directory / f"{stamp}.html"
    data.write_text(json.dumps(results, indent=2) + "\n")
    chart.write_text(_page(results, stamp))
    return data, chart


def _page(results: dict[str, Any], stamp: str) -> str:
    bars = [(name, figures["rps"]) for name, figures in results["scenarios"].items()]
    bars += [(f"reference: {key}", value) for key, value in results["references"].items()]
    latencies = [(name, figures["p99_ms"]) for name, figures in results["scenarios"].items()]
    return ("<!doctype html><meta charset='utf-8'><title>wallet bench " + html.escape(stamp)
            + "</title><style>body{font:14px sans-serif;margin:2em}text{font:12px sans-serif}"
            "</style><h1>wallet bench " + html.escape(stamp) + "</h1><h2>requests/s</h2>"
            + _bars(bars, "#3b7dd8") + "<h2>p99 latency (ms)</h2>" + _bars(latencies, "#d8823b")
            + "<h2>machine</h2><pre>" + html.escape(json.dumps(results["machine"], indent=2))
            + "</pre><h2>table</h2><pre>" + html.escape(table(results)) + "</pre>")


def _bars(values: list[tuple[str, float]], colour: str) -> str:
    largest = max((value for _, value in values), default=0.0) or 1.0
    width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + VALUE_WIDTH_PX
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' "
             f"height='{BAR_HEIGHT_PX * len(values) + 4}'>"]
    for row, (name, value) in enumerate(values):
        top, length = row * BAR_HEIGHT_PX, PLOT_WIDTH_PX * value / largest
        parts.append(f"<text x='{LABEL_WIDTH_PX - 6}' y='{top + 15}' text-anchor='end'>"
                     f"{html.escape(name)}</text><rect x='{LABEL_WIDTH_PX}' y='{top + 3}' "
                     f"width='{length:.1f}' height='{BAR_HEIGHT_PX - 6}' fill='{colour}'/>"
                     f"<text x='{LABEL_WIDTH_PX + length + 6:.1f}' y='{top + 15}'>"
                     f"{value:,.1f}</text>")
    parts.append("</svg>")
    return "".join(parts)
