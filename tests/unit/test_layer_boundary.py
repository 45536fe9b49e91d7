"""The Lambda layer and the functions never import the local runtime: it is not deployed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "wallet" / "wallet"
FUNCTIONS = ROOT / "functions"
RUNTIME = "wallet_runtime"


def imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def runtime_imports(folder: Path) -> list[str]:
    return [
        f"{source.relative_to(ROOT)}: {module}"
        for source in sorted(folder.rglob("*.py"))
        for module in sorted(imported_modules(source))
        if module == RUNTIME or module.startswith(f"{RUNTIME}.")
    ]


@pytest.mark.parametrize("folder", [LAYER, FUNCTIONS], ids=["layer", "functions"])
def test_deployed_code_imports_nothing_from_the_runtime(folder: Path) -> None:
    assert list(folder.rglob("*.py")), f"{folder} holds no Python: the walk looks elsewhere"
    assert runtime_imports(folder) == []


def test_the_walk_sees_a_runtime_import(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("from wallet_runtime.edge import Edge\nimport os\n")
    assert imported_modules(tmp_path / "handler.py") == {"wallet_runtime.edge", "os"}


def test_the_layer_holds_no_runtime_folder() -> None:
    assert not (LAYER / "entrypoints" / "local").exists()
    assert not (LAYER / "entrypoints" / "cli.py").exists()
