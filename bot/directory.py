"""Load the nominated-officer directory file into a validated ``Directory``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from flows.directory import Directory


class DirectoryError(Exception):
    """The directory file cannot be used; one line per problem, each naming its path."""


def load_directory(path: Path) -> Directory:
    """Read and validate ``path`` (structure only; ``find_problems`` checks the references)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise DirectoryError(
            f"{path}: no such directory file; set 'directory:' in app.yaml"
        ) from None
    except yaml.YAMLError as error:
        raise DirectoryError(f"{path}: not valid YAML: {error}") from None
    try:
        return Directory.model_validate(raw)
    except ValidationError as error:
        raise DirectoryError(_format(error)) from None


def _format(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"])
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling"
        lines.append(f"{path.lstrip('.')}: {message}")
    return "\n".join(lines)
