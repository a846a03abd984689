"""``app.yaml`` → one typed, validated ``Settings`` object, built once at start-up.

``${VAR}`` and ``${VAR:-default}`` are replaced from the environment before validation.
Unknown keys and bad values fail with the key's path and a one-line fix (``ConfigError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.slack.settings import SlackSettings
from adapters.teams.settings import TeamsSettings
from adapters.web.settings import WebSettings
from bot.errors import ConfigError
from bot.yamlfile import YamlFileError, describe, read_mapping
from flows.calendar import known_days, known_region
from flows.policy import LifetimeSettings, Policy, Timers
from flows.retention import Retention

M = TypeVar("M", bound=BaseModel)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


__all__ = [
    "ConfigError",
    "Listen",
    "OfficeHours",
    "Service",
    "Settings",
    "SlackSettings",
    "StoreSettings",
    "TeamsSettings",
    "WebSettings",
    "config_path",
    "load_settings",
    "parse_settings",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listen(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=3978, ge=0, le=65535)


class OfficeHours(_Section):
    """When the normal (in-hours) route is open. Bank holidays are out of hours."""

    start: time = time(8, 30)
    end: time = time(17, 0)
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    bank_holidays: str = Field(default="ENG", description="UK subdivision: ENG, WLS, SCT, NIR")

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        return known_days(days)

    @field_validator("bank_holidays")
    @classmethod
    def _known_region(cls, region: str) -> str:
        return known_region(region)


class Service(_Section):
    environment: Literal["development", "production"] = "development"
    listen: Listen = Listen()
    timezone: str = "Europe/London"
    office_hours: OfficeHours = OfficeHours()
    data_dir: Path = Path("data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    public_url: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone!r}: use an IANA name such as 'Europe/London'"
            ) from None
        return zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class StoreSettings(_Section):
    url: str = "sqlite:///data/oohbot.db"

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
            raise ValueError("use 'sqlite:///path/to/file.db' or 'redis://host:6379/0'")
        return url


class Settings(_Section):
    service: Service = Service()
    store: StoreSettings = StoreSettings()
    directory: Path = Path("directory.example.yaml")
    timers: Timers = Timers()
    policy: Policy = Policy()
    lifetimes: LifetimeSettings = LifetimeSettings()
    retention: Retention = Retention()
    slack: SlackSettings = SlackSettings()
    teams: TeamsSettings = TeamsSettings()
    web: WebSettings = WebSettings()
    platforms: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="the sections of platforms added as plugins (adapters/plugin.py), by name",
    )

    def section(self, platform: str, model: type[M]) -> M:
        """The settings of ``platform``: its own section, or its entry under ``platforms``."""
        own = getattr(self, platform, None)
        if isinstance(own, model):
            return own
        try:
            return model.model_validate(self.platforms.get(platform, {}))
        except ValidationError as error:
            where = f"platforms.{platform}."
            raise ConfigError(where + describe(error).replace("\n", "\n" + where)) from None

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.service.environment == "production" and self.web.clock_control:
            object.__setattr__(self, "web", self.web.model_copy(update={"clock_control": False}))
        return self


def substitute_env(node: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of a parsed YAML tree."""
    if isinstance(node, dict):
        return {
            k: substitute_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [substitute_env(v, env, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{path}: environment variable {name} is not set; "
            f"export it or write ${{{name}:-default}}"
        )

    return _ENV_REF.sub(replace, node)


def parse_settings(raw: Mapping[str, Any], env: Mapping[str, str], base: Path) -> Settings:
    """Validate a parsed YAML mapping; relative paths are resolved against ``base``."""
    try:
        settings = Settings.model_validate(substitute_env(dict(raw), env))
    except ValidationError as error:
        raise ConfigError(describe(error)) from None
    return _resolve_paths(settings, base)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    service = settings.service.model_copy(update={"data_dir": base / settings.service.data_dir})
    updates: dict[str, Any] = {"service": service, "directory": base / settings.directory}
    url = settings.store.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        updates["store"] = StoreSettings(
            url="sqlite:///" + str(base / url.removeprefix("sqlite:///"))
        )
    return settings.model_copy(update=updates)


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """``--config``, then ``$OOHBOT_CONFIG``, then ``./app.yaml``."""
    return Path(explicit or env.get("OOHBOT_CONFIG") or "app.yaml")


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``path``; ``ConfigError`` names what is wrong and how to fix it."""
    env = os.environ if env is None else env
    try:
        raw = read_mapping(path, missing_hint="pass --config or set OOHBOT_CONFIG")
    except YamlFileError as error:
        raise ConfigError(str(error)) from None
    return parse_settings(raw, env, path.resolve().parent)
