"""Runs the split topology exactly as documented: `wallet services`, as a real process tree.

The supervisor starts its own broker on a free port, and the test hands it a
fresh PostgreSQL database and a Redis namespace of its own, so topologies
never see each other's money or events.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.e2e.server import RATE_LIMITS_ABOVE_ANY_TEST, ROOT, SECRET, read_banner
from tests.services.ports import free_port_run

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 40


class Topology:
    def __init__(self, data_dir: Path, env: Mapping[str, str]) -> None:
        self.data_dir, self.extra_env = data_dir, dict(env)
        self.process: subprocess.Popen[str] | None = None
        self.banner: list[str] = []
        self.output_path = data_dir / "services.out"

    def start(self) -> "Topology":
        base = free_port_run(3)
        env = {**os.environ, "WALLET_DATA_DIR": str(self.data_dir), "WALLET_PORT": str(base),
               "WALLET_JWT_SECRET": SECRET, **RATE_LIMITS_ABOVE_ANY_TEST, **self.extra_env}
        env.pop("WALLET_KAFKA_BOOTSTRAP", None)  # the supervisor runs a broker of its own
        wallet = Path(sys.executable).parent / "wallet"
        self.process = subprocess.Popen(
            [str(wallet), "services", "--broker-port", str(free_port_run(1))],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
            stderr=self.output_path.open("w"))
        self.banner = read_banner(self.process, "  Stop with", self.output_path,
                                  START_TIMEOUT_S)
        return self

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.data_dir / "services.json").read_text())
        return loaded

    def url(self, name: str) -> str:
        return str(self.state()["processes"][name]["url"])

    @property
    def gateways(self) -> list[str]:
        processes = self.state()["processes"]
        return [p["url"] for name, p in sorted(processes.items()) if name.startswith("gateway")]

    def pid(self, name: str) -> int:
        return int(self.state()["processes"][name]["pid"])

    def kill(self, name: str) -> int:
        """kill -9 one process of the topology; returns its pid."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def logs(self, name: str) -> str:
        return (self.data_dir / "logs" / f"{name}.log").read_text(errors="replace")
