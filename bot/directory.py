"""Load the nominated-officer directory file into a validated ``Directory``."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bot.errors import DirectoryError
from bot.yamlfile import YamlFileError, describe, read_mapping
from flows.directory import Directory

__all__ = ["DirectoryError", "load_directory"]


def load_directory(path: Path) -> Directory:
    """Read and validate ``path`` (structure only; ``find_problems`` checks the references)."""
    try:
        return Directory.model_validate(
            read_mapping(path, missing_hint="set 'directory:' in app.yaml")
        )
    except YamlFileError as error:
        raise DirectoryError(str(error)) from None
    except ValidationError as error:
        raise DirectoryError(describe(error)) from None
