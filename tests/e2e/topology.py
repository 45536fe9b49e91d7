"""Runs the split topology exactly as documented: `wallet services`, as a real process tree.

The supervisor starts its own broker on a free port, and the test hands it a
fresh PostgreSQL database and a Redis namespace of its own, so topologies
never see each other's money or events.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.e2e.server import ROOT, SECRET

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 40
PORT_ATTEMPTS_MAX = 50
_RUNNING = "Wallet services running"
_PROCESS_LINE = re.compile(r"^\s+(\S+)\s+pid (\d+)\s+(\S*)")


class Topology:
    def __init__(self, data_dir: Path, env: Mapping[str, str]) -> None:
        self.data_dir, self.extra_env = data_dir, dict(env)
        self.process: subprocess.Popen[str] | None = None
        self.banner: list[str] = []
        self.output_path = data_dir / "services.out"

    def start(self) -> "Topology":
        base = free_port_run(3)
        env = {**os.environ, "WALLET_DATA_DIR": str(self.data_dir), "WALLET_PORT": str(base),
               "WALLET_JWT_SECRET": SECRET, **self.extra_env}
        env.pop("WALLET_KAFKA_BOOTSTRAP", None)  # the supervisor runs a broker of its own
        wallet = Path(sys.executable).parent / "wallet"
        self.process = subprocess.Popen(
            [str(wallet), "services", "--broker-port", str(free_port_run(1))],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
            stderr=self.output_path.open("w"))
        self._await_banner()
        return self

    def _await_banner(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"services exited: {self.output_path.read_text()[-3000:]}")
            self.banner.append(line)
            if line.startswith("  Stop with"):
                return
        raise TimeoutError("the services did not start")

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


def free_port_run(length: int) -> int:
    """The first of `length` consecutive free ports on 127.0.0.1."""
    for _ in range(PORT_ATTEMPTS_MAX):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + length < 65535 and all(_free(first + step) for step in range(length)):
            return first
    raise RuntimeError(f"no run of {length} free ports found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
