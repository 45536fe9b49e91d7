"""Starts `wallet serve` as a real process and mints tokens the way any client would."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-secret-" + "x" * 64  # long enough for HS512 too, so no key warnings
START_TIMEOUT_S = 30
# Tests send many requests as one user, and every failed authentication from 127.0.0.1: the
# harness's servers take rates far above anything a test sends, so the buckets stay in the
# path without ever refusing. A test of the limits passes its own (test_rate_limits.py).
RATE_LIMITS_ABOVE_ANY_TEST = {
    "WALLET_RATE_LIMIT_USER_PER_S": "1000000", "WALLET_RATE_LIMIT_USER_BURST": "10000000",
    "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "1000000",
    "WALLET_RATE_LIMIT_UNAUTHENTICATED_BURST": "10000000"}
_LISTENING = re.compile(r"Wallet listening on (http://\S+)")
_BANNER_END = "  (token valid"


def read_banner(process: "subprocess.Popen[str]", last_line_start: str, errors: Path,
                timeout_s: float) -> list[str]:
    """The lines a starting process prints, up to the one that starts with `last_line_start`."""
    assert process.stdout is not None
    deadline, lines = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{process.args} exited: {errors.read_text()[-3000:]}")
        lines.append(line)
        if line.startswith(last_line_start):
            return lines
    raise TimeoutError(f"{process.args} did not start within {timeout_s} s")


class Server:
    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir, self.extra_env = data_dir, dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.banner: list[str] = []
        self.stderr_path = data_dir / f"stderr-{uuid.uuid4().hex[:6]}.log"

    def start(self) -> "Server":
        env = {**os.environ, "WALLET_DATA_DIR": str(self.data_dir), "WALLET_PORT": "0",
               "WALLET_JWT_SECRET": SECRET, **RATE_LIMITS_ABOVE_ANY_TEST, **self.extra_env}
        wallet = Path(sys.executable).parent / "wallet"
        self.process = subprocess.Popen(
            [str(wallet), "serve"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=self.stderr_path.open("w"))
        self.banner = read_banner(self.process, _BANNER_END, self.stderr_path, START_TIMEOUT_S)
        self.url = next(m.group(1) for line in self.banner if (m := _LISTENING.search(line)))
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def logs(self) -> str:
        return self.stderr_path.read_text()


def token(user_id: str, role: str = "user", ttl_s: int = 3600, secret: str = SECRET,
          algorithm: str = "HS256", **claims: object) -> str:
    now = int(time.time())
    body = {"sub": user_id, "role": role, "exp": now + ttl_s, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret,
                      algorithm=algorithm)


def auth(user_id: str, role: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id, role)}"}


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(condition: object, timeout_s: float = 5.0, interval_s: float = 0.02) -> None:
    """Bounded polling: the only way these tests wait."""
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s")


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


async def next_event(socket: Any, user: str, deadline_s: float) -> dict[str, Any]:
    """The next balanceUpdated for `user` on a websocket; a timeout past the deadline fails."""
    async with asyncio.timeout(deadline_s):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message.get("event") == "balanceUpdated" and message["userId"] == user:
                return message
