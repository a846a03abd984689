"""The errors the operator-facing layer raises: configuration, directory, reachability, keys.

They hang under the one root, ``flows.errors.OohbotError`` (the whole tree is drawn there).
Each message is one line (a list of problems adds one line per problem) that names the key,
file or resource at fault and says what to do. ``exit_code`` is what ``oohbot`` exits with
(README: "Exit codes"). ``StartupError`` is an alias of the root, kept for the callers that
raise it by that name.

``explain`` turns any error into the one the operator reads: ours as they are (when written for
an operator), a ``DecryptionError`` from the store as a ``KeyMismatch``.
"""

from __future__ import annotations

from flows.errors import OohbotError
from store.crypto import DecryptionError

ROTATION_HELP = "README: Encryption keys"


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


class UsageError(OohbotError):
    """A command-line argument that cannot be used; the message names it and the fix."""

    exit_code = 2


StartupError = OohbotError


def explain(error: BaseException) -> OohbotError | None:
    """``error`` as one of ours (lower layers' errors translated), or None if it is not
    an error oohbot knows how to explain."""
    if isinstance(error, DecryptionError):
        return KeyMismatch(
            f"a stored value cannot be opened: {error}. Give this process the same "
            f"OOHBOT_ENCRYPTION_KEYS as the service, newest first ({ROTATION_HELP})"
        )
    if isinstance(error, OohbotError) and error.explained:
        return error
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
    "UsageError",
    "explain",
]
