"""Start-up: settings → cipher → opened store → directory. Shared by every CLI command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.config import Settings
from bot.directory import DirectoryError, load_directory
from bot.logs import get_logger
from flows.directory import Directory, find_problems
from store.base import Store
from store.crypto import KeyConfigError, load_cipher
from store.factory import open_store

log = get_logger("startup")


class StartupError(Exception):
    """oohbot cannot start; the message says why and what to do."""


def load_checked_directory(settings: Settings) -> Directory:
    """The directory, refusing to start on structural errors; reference problems are warned."""
    try:
        directory = load_directory(settings.directory)
    except DirectoryError as error:
        raise StartupError(f"directory {settings.directory}:\n{error}") from None
    for problem in find_problems(directory, datetime.now(UTC).date()):
        log.warning("directory_problem", problem=problem)
    return directory


@asynccontextmanager
async def opened_store(settings: Settings, env: Mapping[str, str]) -> AsyncIterator[Store]:
    """An opened store with encryption keys loaded; closed on exit."""
    settings.service.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        cipher, warning = load_cipher(env, settings.service.data_dir, settings.service.environment)
    except KeyConfigError as error:
        raise StartupError(str(error)) from None
    if warning:
        log.warning("encryption_key", message=warning)
    store = open_store(settings.store.url, cipher)
    await store.open()
    try:
        await _warn_persistence(store)
        yield store
    finally:
        await store.close()


async def _warn_persistence(store: Store) -> None:
    check = getattr(store, "persistence_warning", None)
    if check is not None:
        warning = await check()
        if warning:
            log.warning("redis_persistence", message=warning)
