"""The architecture's rules, checked on the import graph (DESIGN.md: Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {"aiohttp", "redis", "sqlite3", "slack_bolt", "slack_sdk", "botbuilder", "requests"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of ``package`` imports."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("flows", {"bot", "adapters", "store", *IO_LIBRARIES}),
        ("adapters", {"bot", "store"}),
        ("store", {"bot", "adapters", "flows"}),
    ],
)
def test_layers_import_only_downwards(package: str, forbidden: set[str]) -> None:
    offences = {f: sorted(names & forbidden) for f, names in imports_of(package).items()}
    assert {f: bad for f, bad in offences.items() if bad} == {}
