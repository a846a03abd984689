"""Development key files: one key per file, created once, even when several processes start
at the same moment in the same data folder.

A reader must never see a half-written file, and two starters must never each keep a different
key. So the key is written in full to a private temporary file first and then hard-linked into
place: the link either appears with the whole key in it, or fails because another process
linked its key first, in which case that key is read and used.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, generate: Callable[[], str]) -> tuple[str, bool]:
    """The key in ``path`` and ``False``; or, when there is none yet, a new key from
    ``generate`` written there (mode 0600) and ``True``."""
    if path.exists():
        return _read(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path), False
    finally:
        os.unlink(temporary)
    _sync_folder(path.parent)  # the new name survives a crash too: data is sealed under it
    return key, True


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    return path.read_text().strip()
