"""Structured JSON logs (structlog). Personal data never reaches a log line.

Log calls pass ids, states and field keys only. As a second line of defence a processor
redacts any event key that names personal data, so a careless call passing, say, a postal
address under such a key cannot leak it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

PERSONAL_KEYS = frozenset(
    {
        "name",
        "last_name",
        "first_names",
        "alias",
        "dob",
        "date_of_birth",
        "address",
        "postcode",
        "place_of_birth",
        "summary",
        "note",
        "text",
        "body",
        "answers",
        "values",
        "form",
    }
)


def _drop_personal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in PERSONAL_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for oohbot and the libraries it uses."""
    numeric = logging.getLevelName(level.upper())
    _route_stdlib_logging(numeric)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_personal,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    """A logger writing to ``sys.stderr`` as it is now, not as it was when logging was set
    up (whoever set up logging may have replaced it since: a test's capture, a daemon)."""
    return structlog.PrintLogger(sys.stderr)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A logger bound to a component name."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(component=name)
    return logger


QUIET_LIBRARIES = (
    "transitions",
    "botbuilder",
    "msrest",
    "msal",
    "urllib3",
    "slack_sdk",
    "slack_bolt",
)


def _route_stdlib_logging(level: int) -> None:
    """Libraries' stdlib log records (aiohttp's access log …) as JSON lines too."""
    formatter = structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_personal,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Libraries log at WARNING unless debugging is asked for: ``transitions`` writes two INFO
    # lines per state change (the audit log already says what changed), the HTTP clients one
    # per call. What stays is one line per event: aiohttp's access log.
    quiet = logging.DEBUG if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
