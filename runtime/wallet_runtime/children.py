"""Child processes of `wallet services`: start, watch, restart and stop each one.

A child that dies without being asked to is restarted after a bounded
backoff, as an orchestrator would; that is what lets a fault test kill -9 a
consumer or the broker and watch the system heal. Each child's output goes to
its own log file, so the supervisor's terminal shows only what matters.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RESTART_BACKOFF_S_MIN, RESTART_BACKOFF_S_MAX = 0.5, 5.0
STABLE_AFTER_S = 30  # a child up this long has recovered: its next crash backs off from the minimum
STOP_GRACE_S = 15  # a consumer drains its batch on SIGTERM; the broker and others stop at once
READY_TIMEOUT_S = 60
READY_POLL_S = 0.1
HEALTH_TIMEOUT_S = 1.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

Probe = Callable[["Child"], bool]


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    ready: Probe
    url: str | None = None
    metrics_url: str | None = None  # its own unauthenticated /metrics listener
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    _backoff_s: float = RESTART_BACKOFF_S_MIN
    _due_at: float = 0.0  # when a dead child is restarted; 0 while it runs
    _started_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        self._started_at = time.monotonic()
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                list(self.argv), env=dict(self.env), stdout=log_file,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready(self):
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}; "
                                 f"see {self.log_path}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} not ready after {READY_TIMEOUT_S} s; "
                                 f"see {self.log_path}")
            time.sleep(READY_POLL_S)

    def revive_if_dead(self, now: float) -> bool:
        """Restarts a child that died, once its backoff has passed; True if it did."""
        if self.process is None or self.process.poll() is None:
            return False
        if self._due_at == 0.0:
            up_long_enough = now - self._started_at > STABLE_AFTER_S
            self._backoff_s = RESTART_BACKOFF_S_MIN if up_long_enough else self._backoff_s
            self._due_at = now + self._backoff_s
            return False
        if now < self._due_at:
            return False
        self._due_at = 0.0
        self._backoff_s = min(self._backoff_s * 2, RESTART_BACKOFF_S_MAX)
        self.restarts += 1
        self.start()
        return True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_GRACE_S)


def _die_with_parent() -> None:
    """Linux's PR_SET_PDEATHSIG: a supervisor killed with -9 leaves no orphans holding ports."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def http_ready(child: Child) -> bool:
    assert child.url is not None, "an HTTP child has a URL"
    try:
        with urllib.request.urlopen(f"{child.url}/healthz", timeout=HEALTH_TIMEOUT_S) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def log_says(text: str) -> Probe:
    def probe(child: Child) -> bool:
        return child.log_path.exists() and text in child.log_path.read_text(errors="replace")
    return probe
