"""Reading oohbot's YAML files and describing what is wrong with them, one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.errors import OohbotError


class YamlFileError(OohbotError):
    """The file is missing, is not YAML, or is not a mapping; the message says which."""


def read_mapping(path: Path, *, missing_hint: str) -> dict[str, Any]:
    """The top-level mapping of ``path`` (an empty file is an empty mapping)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise YamlFileError(f"{path}: no such file; {missing_hint}") from None
    except yaml.YAMLError as error:
        raise YamlFileError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise YamlFileError(f"{path}: the top level must be a mapping")
    return raw


def describe(error: ValidationError) -> str:
    """``key.path[0].name: what is wrong`` for every problem pydantic found."""
    return "\n".join(_line(problem) for problem in error.errors())


def _line(problem: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "extra_forbidden":
        message = "unknown key: remove it or check its spelling against the README"
    return f"{path.lstrip('.') or '(top level)'}: {message}"
