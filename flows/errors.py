"""The root of every error oohbot raises on purpose, and the whole tree in one place.

This module imports nothing of ours, so every layer may import it: ``flows`` (it lives here,
in the pure layer), ``adapters``, ``bot`` and ``store`` (the one module of ``flows`` the store
may import; ``tests/test_layers.py`` checks that). Each class stays in the module of the
layer that raises it; this docstring is the map.

``exit_code`` is what ``oohbot`` exits with when the error reaches the command line (README:
"Exit codes"); ``explained`` says whether its message is written for an operator (the CLI prints
it as one line) or is an internal failure (the CLI reports it as a bug, with its place)::

    OohbotError                          flows/errors.py      the root; the CLI catches it
    ├── ConfigError                      bot/errors.py        app.yaml, environment, keys     2
    │   (KeyConfigError, AdapterConfigError, YamlFileError are configuration errors too)
    ├── DirectoryError                   bot/errors.py        the directory file              2
    │   └── DirectoryProblems                                 it reads, but has problems      2
    ├── Unavailable                      bot/errors.py        cannot be reached               3
    │   ├── StoreUnavailable                                  Redis / the SQLite file
    │   └── PortUnavailable                                   service.listen
    ├── KeyMismatch                      bot/errors.py        stored data needs another key   4
    ├── NotFound                         bot/errors.py        what was asked for is not there 1
    ├── HoldRefused                      bot/retention.py     a legal hold cannot be changed  1
    ├── CorrectionRefused                flows/corrections.py an amendment cannot be made     1
    ├── YamlFileError                    bot/yamlfile.py      missing, not YAML, not a mapping 2
    ├── DeliveryFailed                   bot/delivery.py      a platform refused a message (retried)
    ├── StoreError                       store/base.py        store failures (internal)
    │   ├── LockTimeout                                       a conversation lock not taken in time
    │   ├── AlreadyExists                                     a reference already taken
    │   ├── Conflict                                          compare-and-set lost; nothing written
    │   ├── KeyConfigError               store/crypto.py      keys missing or malformed       2
    │   └── DecryptionError              store/crypto.py      shown as a KeyMismatch          4
    ├── AdapterConfigError               adapters/base.py     a platform cannot start safely  2
    │   ├── TeamsConfigError             adapters/teams
    │   └── WebConsoleRefused            adapters/web/guard.py
    ├── NotStored                        adapters/base.py     the inbox is down: do not ack
    ├── Unreachable                      adapters/base.py     no way to reach that recipient
    └── InvalidInput (also ValueError)   flows/errors.py      input that cannot be used
        ├── InvalidAnswer                flows/validators.py  shown to the person who typed it
        ├── BadEvent                     adapters/web/inbound.py
        ├── BadJson                      adapters/http_input.py
        ├── Unreadable                   adapters/slack/payloads.py, adapters/teams/activities.py
        └── PackageError                 adapters/teams/package.py

The person on a platform never sees any of these: each platform's outermost handler shows
``sorry(error_id)`` and logs the rest without personal data.
"""

from __future__ import annotations

import uuid
from typing import ClassVar


class OohbotError(Exception):
    """Root of oohbot's own errors; ``str()`` is the message, ``exit_code`` the CLI's code."""

    exit_code: ClassVar[int] = 2
    explained: ClassVar[bool] = True


class InvalidInput(OohbotError, ValueError):
    """Input from outside (a person, a platform, a file) that cannot be used."""

    explained = False


def new_error_id() -> str:
    """A short random id, shown to the person and logged, to find one failure in the logs."""
    return uuid.uuid4().hex[:12]


def sorry(error_id: str) -> str:
    """What a person reads when something failed on our side: short, with the id to quote."""
    return f"Sorry, something went wrong on our side. Error id {error_id}."


__all__ = ["InvalidInput", "OohbotError", "new_error_id", "sorry"]
