"""Reloading the directory and its schedule into a running service, without a restart.

``oohbot directory reload`` validates the directory (and the calendar it imports) exactly as
start-up does; if it is good, it publishes the file's version (a SHA-256 of the directory and
calendar bytes) in the shared store. Every running service compares that marker with its own
version every ``CHECK_EVERY`` seconds (one small read), and when they differ reloads its own
copy of the file, validates it, and swaps it in only if its version is the published one, so
a replica whose file has not arrived yet keeps the old directory and tries again. SIGHUP
reloads one service's file at once. On any error the old directory stays and the error is
logged; the command reports it and exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.config import Settings
from bot.directory import calendar_path
from bot.errors import DirectoryError
from bot.logs import get_logger
from bot.services import Warn, load_checked_directory, log_warning
from flows.directory import Directory
from store.base import Store

log = get_logger("reload")
MARKER = ("oohbot", "directory_version")
"""Where the published version lives in the store (platform, key of the address table)."""
CHECK_EVERY = 5.0
OnSwap = Callable[[], Awaitable[None]]


def version_of(settings: Settings, directory: Directory) -> str:
    """The SHA-256 of the directory file and the calendar it imports (as read now)."""
    digest = hashlib.sha256(settings.directory.read_bytes())
    ics = calendar_path(directory, settings.directory)
    if ics is not None:
        digest.update(ics.read_bytes())
    return digest.hexdigest()


def validated(settings: Settings, warn: Warn = log_warning) -> tuple[Directory, str]:
    """The directory as start-up would load it, and its version; raises the start-up errors
    (``DirectoryError``, ``DirectoryProblems``) when it is not fit to serve with."""
    directory = load_checked_directory(settings, warn)
    try:
        return directory, version_of(settings, directory)
    except OSError as error:
        raise DirectoryError(f"directory {settings.directory}: {error.strerror}") from None


async def publish(store: Store, version: str, at: datetime) -> None:
    """Tell every running service that ``version`` is the directory to serve with."""
    await store.save_address(*MARKER, {"version": version, "at": at.isoformat()})


async def published(store: Store) -> str | None:
    """The version last published, if any."""
    found = await store.load_address(*MARKER)
    return str(found["version"]) if found and found.get("version") else None


def swap(live: Directory, new: Directory) -> None:
    """Make ``live`` hold ``new``'s contents. Every part of the running service (engine,
    routing, delivery, the platforms) holds this one object, so none of them needs to know
    about reloading; the swap is one synchronous step, so no unit of work sees half of it."""
    live.__dict__.update(new.__dict__)
    object.__setattr__(live, "__pydantic_private__", dict(new.__pydantic_private__ or {}))


class Reloader:
    """Keeps a running service's directory at the published version."""

    def __init__(
        self,
        settings: Settings,
        live: Directory,
        store: Store,
        on_swap: OnSwap | None = None,
    ) -> None:
        self._settings, self._live, self._store, self._on_swap = settings, live, store, on_swap
        try:
            self.version = version_of(settings, live)
        except OSError:
            self.version = ""
        self._waiting_for = ""

    async def reload(self, *, expected: str | None = None) -> bool:
        """Load, validate and swap in the directory file; False (old kept) on any problem, or
        when its version is not ``expected``."""
        try:
            directory, version = validated(self._settings)
        except Exception as error:
            log.error("directory_reload_failed", error=str(error).splitlines()[0])
            return False
        if expected is not None and version != expected:
            if self._waiting_for != expected:  # once per published version, not every check
                log.warning("directory_reload_waiting", have=version[:12], published=expected[:12])
                self._waiting_for = expected
            return False
        swap(self._live, directory)
        self.version = version
        log.info("directory_reloaded", version=version[:12])
        if self._on_swap is not None:
            await self._on_swap()
        return True

    async def check(self) -> bool:
        """One look at the published marker; reload when it names another version."""
        marker = await published(self._store)
        if marker is None or marker == self.version:
            return False
        return await self.reload(expected=marker)

    async def run(self, stop: asyncio.Event, every: float = CHECK_EVERY) -> None:
        """Check the marker every ``every`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception as error:  # a store outage must not end the watch
                log.warning("directory_check_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
