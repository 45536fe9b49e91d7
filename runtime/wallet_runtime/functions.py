"""Finds and loads the Lambda-style handlers, as `sam local` would, by file path.

The shared package never imports a function module: the runtime reads the
route table below and loads `functions/<name>/app.py` from disk. An HTTP
function's module holds its Lambda `handler` and the coroutine it runs, named
like the function (`async def deposit(request)`): the runtime awaits that
coroutine on its own loop, the code path Lambda runs.
"""

import asyncio
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from wallet.entrypoints.api import Action

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
    ("POST", "/wallet/holds", "hold_place"),
    ("POST", "/wallet/holds/{id}/capture", "hold_capture"),
    ("POST", "/wallet/holds/{id}/void", "hold_void"),
    ("GET", "/wallet/holds/{id}", "holds"),
    ("GET", "/wallet/holds", "holds"),  # a user's own, or every user's for operators
    ("GET", "/wallet/audit/verify", "audit_verify"),  # operators only
)
CONSUMER, RELAY = "ledger_consumer", "ws_relay"


def functions_dir(configured: Path | None = None) -> Path:
    """The `functions/` folder: configured, under the working directory, or beside `layers/`."""
    candidates = [configured] if configured else [
        Path.cwd() / "functions", Path(__file__).resolve().parents[2] / "functions"]
    for candidate in candidates:
        if candidate is not None and (candidate / CONSUMER / "app.py").is_file():
            return candidate
    raise FileNotFoundError(f"no functions/ folder found (looked in {candidates})")


def load_handlers(root: Path) -> dict[str, Handler]:
    names = {name for _, _, name in HTTP_ROUTES} | {CONSUMER, RELAY}
    return {name: _load(root / name / "app.py", name) for name in sorted(names)}


def load_actions(root: Path) -> dict[str, Action]:
    """Each HTTP function's coroutine, for a runtime that awaits it on its own loop."""
    names = {name for _, _, name in HTTP_ROUTES}
    return {name: _action(_module(root / name / "app.py", name), name) for name in sorted(names)}


def _load(path: Path, name: str) -> Handler:
    handler: Handler = _module(path, name).handler
    return handler


def _action(module: ModuleType, name: str) -> Action:
    action: Action = getattr(module, name)
    assert asyncio.iscoroutinefunction(action), f"{name} must be an async def"
    return action


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"wallet_function_{name}", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
