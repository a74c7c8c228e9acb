"""The layers of docs/architecture.md, checked on every import in the product's source.

Every ``import`` and ``from ... import`` of each package (module level or inside a
function, absolute or relative) is resolved to the Forewarn package it names, and
compared with what that package may import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contracts", "models", "simulators", "edge_agent", "ingest", "service_api",
            "forewarn")

# What each package may import besides itself. ``forewarn`` (the CLI and demo glue) may
# import every part, and nothing may import it.
ALLOWED = {
    "contracts": set(),
    "models": set(),
    "edge_agent": {"contracts", "models"},
    "ingest": {"contracts", "models"},
    "service_api": {"contracts"},
    "simulators": {"contracts", "edge_agent"},  # registers it serves, agent configs it writes
    "forewarn": set(PACKAGES),
}


def imported_packages(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every Forewarn package the file imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # relative imports stay inside the file's own package
            names = [package] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                out.append((node.lineno, top))
    return out


def violations(package: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for line, top in imported_packages(path, package):
            if top != package and top not in ALLOWED[package]:
                found.append(f"{path.relative_to(root)}:{line} imports {top}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_respect_the_layers(package):
    assert violations(package) == []


def test_the_checker_sees_what_it_must_refuse(tmp_path):
    """A forbidden import, at module level, in a function or relative, is reported."""
    bad = tmp_path / "models"
    bad.mkdir()
    (bad / "x.py").write_text("import ingest.risk\n"
                              "def f():\n    from forewarn.cli import main\n"
                              "from .features import FeatureSpec\n")
    assert violations("models", tmp_path) == ["models/x.py:1 imports ingest",
                                    "models/x.py:3 imports forewarn"]


def test_the_run_signal_has_one_name():
    """``models`` imports nothing of ours, so its default is checked against the contract."""
    from contracts.signals import RUN_SIGNAL
    from models.features import RUN_SIGNAL as MODELS_RUN_SIGNAL

    assert MODELS_RUN_SIGNAL == RUN_SIGNAL


def test_test_servers_do_not_ship_in_the_product():
    assert not (ROOT / "forewarn" / "servers.py").exists()
    assert (ROOT / "tests" / "servers.py").exists()
