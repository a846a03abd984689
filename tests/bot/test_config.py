"""app.yaml → Settings: defaults, ${ENV} substitution, errors that name the key and the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, config_path, load_settings, parse_settings
from flows.durations import Duration

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_app_yaml_loads_with_an_empty_environment() -> None:
    settings = load_settings(ROOT / "app.yaml", env={})
    assert settings.service.listen.host == "127.0.0.1"
    assert settings.service.listen.port == 3978
    assert settings.store.url == f"sqlite:///{ROOT / 'data/oohbot.db'}"
    assert settings.timers.retrospective_due == Duration(wall=timedelta(hours=72))
    assert settings.timers.response_due == Duration(wall=timedelta(hours=2))
    assert settings.timers.response_due_routine == Duration(wall=timedelta(hours=48))
    assert not settings.slack.enabled and not settings.teams.enabled and settings.web.enabled


def test_environment_substitution_with_defaults(tmp_path: Path) -> None:
    raw = {"store": {"url": "${URL}"}, "slack": {"spoc_channel": "${CHAN:-C0SPOC}"}}
    settings = parse_settings(raw, {"URL": "redis://localhost:6399/1"}, tmp_path)
    assert settings.store.url == "redis://localhost:6399/1"
    assert settings.slack.spoc_channel == "C0SPOC"


def test_a_missing_environment_variable_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"slack\.bot_token: environment variable SLACK_BOT"):
        parse_settings({"slack": {"bot_token": "${SLACK_BOT}"}}, {}, tmp_path)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"timers": {"spoc_ak": "1m"}}, r"timers\.spoc_ak: unknown key"),
        ({"timers": {"spoc_ack": "soon"}}, r"timers\.spoc_ack: 'soon' is not a duration"),
        (
            {"timers": {"spoc_ack": "1 working day"}},
            r"timers\.spoc_ack: this timer must be wall-clock",
        ),
        ({"service": {"timezone": "Mars/Olympus"}}, r"service\.timezone: unknown time zone"),
        ({"store": {"url": "postgres://x"}}, r"store\.url: use 'sqlite:///"),
        ({"service": {"listen": {"port": 70000}}}, r"service\.listen\.port"),
        ({"slack": {"bot_token": "xoxb-1"}}, r"signing_secret is empty"),
        ({"service": {"office_hours": {"days": ["funday"]}}}, r"unknown day"),
    ],
)
def test_bad_values_fail_with_the_path(
    raw: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw, {}, tmp_path)


def test_working_day_deadlines_are_accepted(tmp_path: Path) -> None:
    settings = parse_settings({"timers": {"retrospective_due": "1 working day"}}, {}, tmp_path)
    assert settings.timers.retrospective_due == Duration(working_days=1)


def test_config_path_order() -> None:
    assert config_path("x.yaml", {"OOHBOT_CONFIG": "y.yaml"}) == Path("x.yaml")
    assert config_path(None, {"OOHBOT_CONFIG": "y.yaml"}) == Path("y.yaml")
    assert config_path(None, {}) == Path("app.yaml")


def test_production_turns_the_clock_control_off(tmp_path: Path) -> None:
    settings = parse_settings({"service": {"environment": "production"}}, {}, tmp_path)
    assert settings.web.clock_control is False


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OOHBOT_CONFIG"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_working_day_response_clocks_are_written_as_durations(tmp_path: Path) -> None:
    """§3 T3/T8: the routine 48 h and Warwickshire's 10 working days, as written in app.yaml."""
    raw = {"timers": {"response_due": "1 working day", "response_due_routine": "10 working days"}}
    timers = parse_settings(raw, {}, tmp_path).timers
    assert timers.response_due == Duration(working_days=1)
    assert timers.response_due_routine == Duration(working_days=10)
