"""Microsoft Teams: Bot Framework activities at ``POST /api/messages`` ↔ the engine.

The wiring (``adapters.teams.wiring``) needs botbuilder, which is large; it is imported when
first used, so a service with Teams off (and anything that only reads ``TeamsSettings``) does
not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.teams.sender import TeamsSender
    from adapters.teams.wiring import ROUTE, TeamsConfigError, check_auth, install

__all__ = ["ROUTE", "TeamsConfigError", "TeamsSender", "check_auth", "install"]
_HOMES = {"TeamsSender": "adapters.teams.sender"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES.get(name, "adapters.teams.wiring")), name)
