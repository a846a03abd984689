"""Short answers from the platform endpoints, for the platforms' servers (not for people).

A refusal (4xx) names what is wrong in a few words and never echoes what was sent. An error
nobody foresaw gets an id: the log line carries the id, the exception's type and where it
happened (no part of the request, which may hold personal data), and the answer carries the id
alone, so that a report can be matched with the log. Neither ever carries a traceback.
"""

from __future__ import annotations

import traceback
import uuid
from typing import Any

from aiohttp import web

SORRY = "Sorry, something went wrong on our side. Error id {error_id}."
MAX_REASON = 160


def refusal(status: int, reason: str) -> web.Response:
    """A short JSON answer ``{"error": reason}`` with a 4xx status."""
    return web.json_response({"error": reason[:MAX_REASON]}, status=status)


def logged_error(log: Any, event: str, error: BaseException) -> str:
    """Log an unexpected error as ``event`` without personal data; return its error id."""
    error_id = uuid.uuid4().hex[:12]
    where = [f"{f.filename}:{f.lineno}" for f in traceback.extract_tb(error.__traceback__)]
    log.error(event, error_id=error_id, error=type(error).__name__, where=where[-5:])
    return error_id


def failure_body(error_id: str) -> dict[str, str]:
    return {"error": SORRY.format(error_id=error_id), "error_id": error_id}


def unexpected(log: Any, event: str, error: BaseException) -> web.Response:
    """Log ``error`` with a new error id and answer 500 with that id."""
    return web.json_response(failure_body(logged_error(log, event, error)), status=500)
