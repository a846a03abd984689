"""Start-up: settings → cipher → opened store → directory. Shared by every CLI command.

Each step fails with one of ``bot.errors``' errors, whose one-line message names the file,
key or resource and the fix. Warnings go to ``warn(event, message)``: a JSON log line in the
service (``log_warning``), a plain line on stderr for one-shot commands.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from yarl import URL

from bot.config import Settings
from bot.directory import load_directory
from bot.errors import (
    ConfigError,
    DirectoryError,
    DirectoryProblems,
    StartupError,
    StoreUnavailable,
)
from bot.logs import get_logger
from flows.directory import Directory, find_problems, serving_problems
from flows.policy import LifetimeSettings
from store.base import Store
from store.blind_index import BlindIndex, load_index
from store.crypto import Cipher, KeyConfigError, load_cipher
from store.factory import open_store, unavailable_errors
from store.lifetimes import Lifetimes

log = get_logger("startup")
Warn = Callable[[str, str], None]
"""``warn(event, message)``: how a start-up warning reaches the operator."""

__all__ = [
    "StartupError",
    "Warn",
    "load_checked_directory",
    "load_index_key",
    "load_keys",
    "log_warning",
    "opened_store",
]


def log_warning(event: str, message: str) -> None:
    """A start-up warning as a JSON log line (the service's log)."""
    log.warning(event, message=message)


def load_checked_directory(settings: Settings, warn: Warn = log_warning) -> Directory:
    """The directory, refusing problems that could page the wrong person; expired officers
    are only warned about (they simply cannot act any more)."""
    path = settings.directory
    try:
        directory = load_directory(path, settings.service.zone)
    except DirectoryError as error:
        raise DirectoryError(f"directory {path}:\n{error}") from None
    problems = serving_problems(directory)
    if problems:
        raise DirectoryProblems(
            f"directory {path} has {len(problems)} problem(s); oohbot will not serve with it, "
            "because the wrong person could be paged. Fix these ('oohbot directory check' "
            "lists them):\n  " + "\n  ".join(problems)
        )
    for problem in find_problems(directory, datetime.now(UTC).date()):
        if problem not in problems:
            warn("directory_problem", f"directory {path}: {problem}")
    return directory


def load_keys(settings: Settings, env: Mapping[str, str], warn: Warn = log_warning) -> Cipher:
    """The cipher from ``OOHBOT_ENCRYPTION_KEYS`` (or the development key file)."""
    _private_folder(settings.service.data_dir, warn)
    try:
        cipher, warning = load_cipher(env, settings.service.data_dir, settings.service.environment)
    except KeyConfigError as error:
        raise ConfigError(str(error)) from None
    if warning:
        warn("encryption_key", warning)
    return cipher


def load_index_key(
    settings: Settings, env: Mapping[str, str], warn: Warn = log_warning
) -> BlindIndex:
    """The subject-access index key from ``OOHBOT_INDEX_KEY`` (or the development key file):
    kept apart from the encryption keys."""
    _private_folder(settings.service.data_dir, warn)
    try:
        return load_index(env, settings.service.data_dir, settings.service.environment)
    except KeyConfigError as error:
        raise ConfigError(str(error)) from None


def _private_folder(folder: Path, warn: Warn) -> None:
    """Create ``service.data_dir`` as 0700; say so if an existing one is open to others."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"service.data_dir {folder}: cannot create it ({error.strerror}); "
            "choose a folder this user may write"
        ) from None
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        warn(
            "data_dir_permissions",
            f"service.data_dir {folder} is open to other users (mode {mode:04o}); "
            f"run: chmod 700 {folder}",
        )


@asynccontextmanager
async def opened_store(
    settings: Settings,
    env: Mapping[str, str],
    *,
    cipher: Cipher | None = None,
    warn: Warn = log_warning,
) -> AsyncIterator[Store]:
    """An opened store with encryption keys loaded; closed on exit."""
    store = open_store(
        settings.store.url,
        cipher or load_keys(settings, env, warn),
        load_index_key(settings, env, warn),
        store_lifetimes(settings.lifetimes),
    )
    try:
        await store.open()
    except unavailable_errors(settings.store.url) as error:
        with contextlib.suppress(Exception):
            await store.close()
        raise StoreUnavailable(_unreachable(settings.store.url, error)) from None
    try:
        await _warn_persistence(store, warn)
        yield store
    finally:
        await store.close()


def store_lifetimes(settings: LifetimeSettings) -> Lifetimes:
    """The store's lifetimes from ``lifetimes:`` in app.yaml."""
    return Lifetimes(**settings.model_dump(exclude={"sweep_at"}))


def _unreachable(url: str, error: BaseException) -> str:
    reason = (str(error).splitlines() or [type(error).__name__])[0][:200]
    if url.startswith("sqlite:"):
        return (
            f"store.url {url}: cannot open the SQLite database ({reason}); check that its "
            "folder exists and this user may write there"
        )
    return (
        f"store.url {_without_password(url)}: Redis does not answer ({reason}); start Redis "
        "or correct store.url (OOHBOT_STORE_URL)"
    )


def _without_password(url: str) -> str:
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


async def _warn_persistence(store: Store, warn: Warn) -> None:
    warning = await store.persistence_warning()
    if warning:
        warn("redis_persistence", warning)
