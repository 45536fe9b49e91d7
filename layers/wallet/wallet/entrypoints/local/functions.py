"""Finds and loads the Lambda-style handlers, as `sam local` would, by file path.

The shared package never imports a function module: the runtime reads the
route table below and loads `functions/<name>/app.py` from disk.
"""

import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Handler = Callable[[Mapping[str, Any], object], dict[str, Any]]

HTTP_ROUTES = (
    ("POST", "/wallet/deposit", "deposit"),
    ("POST", "/wallet/payout", "payout"),
    ("POST", "/wallet/transfer", "transfer"),
    ("GET", "/wallet/balance/{userId}", "balance"),
    ("GET", "/wallet/history/{userId}", "history"),
    ("GET", "/wallet/history", "history"),  # every wallet: operators only
    ("GET", "/wallet/transactions/{id}", "transaction"),
    ("GET", "/wallet/currencies", "currencies"),
)
CONSUMER, RELAY = "ledger_consumer", "ws_relay"


def functions_dir(configured: Path | None = None) -> Path:
    """The `functions/` folder: configured, under the working directory, or beside `layers/`."""
    candidates = [configured] if configured else [
        Path.cwd() / "functions", Path(__file__).resolve().parents[5] / "functions"]
    for candidate in candidates:
        if candidate is not None and (candidate / CONSUMER / "app.py").is_file():
            return candidate
    raise FileNotFoundError(f"no functions/ folder found (looked in {candidates})")


def load_handlers(root: Path) -> dict[str, Handler]:
    names = {name for _, _, name in HTTP_ROUTES} | {CONSUMER, RELAY}
    return {name: _load(root / name / "app.py", name) for name in sorted(names)}


def _load(path: Path, name: str) -> Handler:
    spec = importlib.util.spec_from_file_location(f"wallet_function_{name}", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler
