"""Redis for the tests: the shared server, and private ones a test may break.

Normal tests share one server (127.0.0.1:6379 unless WALLET_TEST_REDIS_URL
says otherwise) and keep apart by a unique namespace each. A test that needs
an outage starts a `RedisServer` of its own, a foreground child whose PID we
own, so stopping, pausing or restarting it never disturbs anyone else. Never
restart the shared server from a test.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

import redis

from tests.services.ports import free_port

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 10.0  # a cold start takes a few milliseconds; the slack is for loaded CI
STOP_TIMEOUT_S = 10.0  # SIGKILL cannot be ignored, so this only waits for the reaping
PING_TIMEOUT_S = 0.2  # per attempt, on loopback
PROBE_INTERVAL_S = 0.02
START_ATTEMPTS_MAX = 3  # a free port can be taken by someone else before the server binds it


def shared_redis_url() -> str:
    return os.environ.get("WALLET_TEST_REDIS_URL", SHARED_REDIS_URL)


def unique_namespace(prefix: str = "test") -> str:
    """Keys and channels under this never meet another test's, on the same server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=PING_TIMEOUT_S,
                                  socket_timeout=PING_TIMEOUT_S)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


class RedisServer:
    """One private redis-server; `with RedisServer() as server:` starts it and always stops it."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self._own_log_dir = log_dir is None  # removed on exit; pass pytest's tmp_path to keep it
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"redis-{self.port}.log"

    def start(self) -> "RedisServer":
        for attempt in range(START_ATTEMPTS_MAX):
            if self._try_start():
                return self
            if attempt + 1 < START_ATTEMPTS_MAX:
                self.port = free_port()
        raise RuntimeError(f"redis-server did not start: {self.logs()[-2000:]}")

    def stop(self) -> None:
        """Kills the process, as a crash would: it keeps nothing (no RDB, no AOF)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused process dies only once it runs again
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Same port, empty memory: clients configured with `.url` can reconnect."""
        self.stop()
        if not self._try_start():
            raise RuntimeError(f"redis-server did not restart on {self.port}: "
                               f"{self.logs()[-2000:]}")

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing answers."""
        assert self._process is not None, "the server is not running"
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None, "the server is not running"
        self._process.send_signal(signal.SIGCONT)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _try_start(self) -> bool:
        assert self._process is None, "the server is already running"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--loglevel", "warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self._await_ping()

    def _await_ping(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers_ping(self.url):
            assert self._process is not None
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                return False
            time.sleep(PROBE_INTERVAL_S)
        return True

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)


class TcpProxy:
    """A cuttable link to a server: one client's view of a network partition.

    `cut()` drops every forwarded connection and turns new ones away at once,
    so that client's calls fail without any command reaching the server, as
    if the network between them broke; other clients of the server see nothing.
    """

    ACCEPT_POLL_S = 0.05  # how soon the accept loop notices `close`

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(self.ACCEPT_POLL_S)
        self.port = int(self._listener.getsockname()[1])
        self._cut, self._closed = threading.Event(), threading.Event()
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            _hang_up(link)

    def heal(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._link(client)

    def _link(self, client: socket.socket) -> None:
        try:
            if self._cut.is_set():
                raise ConnectionRefusedError("the proxy is cut")
            upstream = socket.create_connection(("127.0.0.1", self._target_port))
        except OSError:
            _hang_up(client)
            return
        with self._lock:
            self._links += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_forward, args=(source, sink), daemon=True).start()


def _forward(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65_536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _hang_up(source)
        _hang_up(sink)


def _hang_up(link: socket.socket) -> None:
    """shutdown() first: it wakes a thread blocked in recv(), which close() alone does not."""
    with contextlib.suppress(OSError):
        link.shutdown(socket.SHUT_RDWR)
    link.close()
