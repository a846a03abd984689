"""The architecture's rules, checked on the import graph (DESIGN.md: Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {"aiohttp", "redis", "sqlite3", "slack_bolt", "slack_sdk", "botbuilder", "requests"}


# The root of the error tree imports nothing of ours, so every layer may import it.
SHARED = {"flows.errors"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of ``package`` imports (the shared modules aside)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names if a.name not in SHARED}
            elif (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module not in SHARED
            ):
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


def test_the_shared_modules_import_nothing_of_ours() -> None:
    """What every layer may import must not pull a layer in behind it."""
    for module in SHARED:
        path = ROOT / (module.replace(".", "/") + ".py")
        names = imports_of_file(path)
        assert names & {"bot", "adapters", "store", "flows"} == set(), module


def imports_of_file(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_error_hangs_under_the_one_root() -> None:
    """Every exception class oohbot defines is an ``OohbotError`` (flows/errors.py draws it)."""
    import importlib
    import inspect

    from flows.errors import OohbotError

    strays = []
    for package in ("flows", "bot", "adapters", "store"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = module.removesuffix(".__init__")
            for name, value in vars(importlib.import_module(module)).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == module
                    and not issubclass(value, OohbotError)
                ):
                    strays.append(f"{module}.{name}")
    assert strays == []
