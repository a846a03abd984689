"""The platforms this service can run: one line each (``adapters.plugin``).

The order is the order of preference when the engine reaches an officer known on several
platforms; the web console, which reaches everyone by officer id, comes first only so that it
is installed first, and is tried last (``bot.delivery``).
"""

from __future__ import annotations

from typing import Any

from adapters.plugin import PlatformPlugin
from adapters.slack.platform import PLATFORM as SLACK
from adapters.teams.platform import PLATFORM as TEAMS
from adapters.web.platform import PLATFORM as WEB

PLATFORMS: tuple[PlatformPlugin[Any], ...] = (WEB, SLACK, TEAMS)
