"""The layer's requirements.txt names every third-party package the layer imports.

A deployed function has only the layer and the Lambda runtime to import from,
so a package that the local venv happens to have (pyproject.toml lists it) but
requirements.txt lacks fails every function at import on AWS and on the emulator.
"""

import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from tests.unit.test_layer_boundary import LAYER, imported_modules

REQUIREMENTS = LAYER.parent / "requirements.txt"
OWN_PACKAGE = "wallet"
# The Lambda Python runtime ships these, and functions must not pin their own copy.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})
REQUIREMENT = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[(?P<extras>[^\]]*)\])?")
EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def normalised(distribution: str) -> str:
    """PEP 503: PyJWT, pyjwt and py_jwt are one distribution."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def required_distributions(text: str) -> set[str]:
    """The named distributions, plus what their requested extras bring (psycopg[pool])."""
    names = set()
    for line in text.splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            match = REQUIREMENT.match(requirement)
            assert match, f"unreadable requirement {line!r}"
            extras = {e.strip() for e in (match.group("extras") or "").split(",") if e.strip()}
            names.add(normalised(match.group("name")))
            names |= extra_distributions(match.group("name"), extras)
    return names


def extra_distributions(distribution: str, extras: set[str]) -> set[str]:
    if not extras:
        return set()
    brought = set()
    for line in requires(distribution) or []:
        marker = EXTRA_MARKER.search(line)
        if marker and marker.group(1) in extras:
            brought.add(normalised(REQUIREMENT.match(line).group("name")))  # type: ignore[union-attr]
    return brought


def third_party_imports(folder: Path) -> set[str]:
    tops = {module.split(".")[0] for source in folder.rglob("*.py")
            for module in imported_modules(source)}
    return tops - set(sys.stdlib_module_names) - {OWN_PACKAGE}


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """Import name to distribution names, from what is installed beside the tests."""
    installed = packages_distributions()
    missing = modules - set(installed)
    assert not missing, f"imported but not installed here, so unmappable: {sorted(missing)}"
    return {module: {normalised(name) for name in installed[module]} for module in modules}


def test_every_third_party_import_of_the_layer_is_a_requirement() -> None:
    required = required_distributions(REQUIREMENTS.read_text())
    uncovered = {module: sorted(names)
                 for module, names in distributions_of(third_party_imports(LAYER)).items()
                 if not names & (required | RUNTIME_PROVIDED)}
    assert uncovered == {}, f"add to {REQUIREMENTS.relative_to(LAYER.parents[2])}: {uncovered}"


def test_the_walk_finds_third_party_imports(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text("import json\nimport jwt\nfrom wallet import config\n")
    assert third_party_imports(tmp_path) == {"jwt"}


def test_requirement_names_are_read_as_distributions() -> None:
    text = "# comment\nPyJWT>=2.8,<3\npsycopg[binary,pool]>=3.2  # why\n\nprometheus_client\n"
    assert required_distributions(text) == {
        "pyjwt", "psycopg", "psycopg-binary", "psycopg-pool", "prometheus-client"}
