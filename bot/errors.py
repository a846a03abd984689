"""Every failure oohbot explains itself, as one tree with one root (the CLI catches the root).

Each message is one line (a list of problems adds one line per problem) that names the key,
file or resource at fault and says what to do. ``exit_code`` is what ``oohbot`` exits with
(README: "Exit codes")::

    OohbotError                      one clear line; never a traceback
    ├── ConfigError                  app.yaml, the environment or the keys cannot be used   2
    ├── DirectoryError               the directory file cannot be read or is invalid        2
    │   └── DirectoryProblems        it reads, but has problems: oohbot refuses to serve    2
    ├── Unavailable                  something oohbot needs cannot be reached               3
    │   ├── StoreUnavailable         Redis does not answer, the SQLite file cannot be opened
    │   └── PortUnavailable          service.listen is taken or not allowed
    ├── KeyMismatch                  stored data needs a key this process does not hold,    4
    │                                or a running service does not know the newest key yet
    └── NotFound                     what was asked for does not exist                      1

``StartupError`` is an alias of the root, kept for the callers that raise it by that name.

Errors of the lower layers cannot share this root (``store`` and ``adapters`` never import
``bot``); ``explain`` translates them: ``store.crypto.KeyConfigError`` and
``adapters.base.AdapterConfigError`` are configuration errors, ``store.crypto.DecryptionError``
is a key mismatch.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.base import AdapterConfigError
from store.crypto import DecryptionError, KeyConfigError

ROTATION_HELP = "README: Encryption keys"


class OohbotError(Exception):
    """Root of oohbot's own errors; ``str()`` is the message to show, ``exit_code`` the code."""

    exit_code: ClassVar[int] = 2


class ConfigError(OohbotError):
    """Configuration that cannot be used; the message names the key and the fix."""


class DirectoryError(OohbotError):
    """The directory file cannot be used; one line per problem, each naming its path."""


class DirectoryProblems(DirectoryError):
    """The directory reads but has problems (duplicate ids, unknown managers …): oohbot will
    not serve with it, because the wrong person could be paged."""


class Unavailable(OohbotError):
    """Something oohbot needs cannot be reached or used right now."""

    exit_code = 3


class StoreUnavailable(Unavailable):
    """The store (``store.url``) cannot be reached or opened."""


class PortUnavailable(Unavailable):
    """``service.listen`` cannot be bound."""


class KeyMismatch(OohbotError):
    """Stored data was sealed with a key this process does not hold, or a running service
    does not know the newest key yet."""

    exit_code = 4


class NotFound(OohbotError):
    """What the command was asked about does not exist."""

    exit_code = 1


StartupError = OohbotError


def explain(error: BaseException) -> OohbotError | None:
    """``error`` as one of ours (lower layers' errors translated), or None if it is not
    an error oohbot knows how to explain."""
    if isinstance(error, OohbotError):
        return error
    if isinstance(error, KeyConfigError | AdapterConfigError):
        return ConfigError(str(error))
    if isinstance(error, DecryptionError):
        return KeyMismatch(
            f"a stored value cannot be opened: {error}. Give this process the same "
            f"OOHBOT_ENCRYPTION_KEYS as the service, newest first ({ROTATION_HELP})"
        )
    return None


__all__ = [
    "ConfigError",
    "DirectoryError",
    "DirectoryProblems",
    "KeyMismatch",
    "NotFound",
    "OohbotError",
    "PortUnavailable",
    "StartupError",
    "StoreUnavailable",
    "Unavailable",
    "explain",
]
