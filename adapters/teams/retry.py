"""Retries with backoff around Bot Framework connector calls.

The connector client (msrest over ``requests``, run in a thread) raises ``HttpOperationError``
carrying the HTTP response. Throttling (429), a lost update race (412) and server errors (5xx)
are retried, honouring ``Retry-After``; anything else is the caller's to handle. msrest's own
urllib3 retry covers some 5xx statuses underneath; this layer is the one we control.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from msrest.exceptions import ClientRequestError, HttpOperationError
from structlog import get_logger

log = get_logger(component="teams")
T = TypeVar("T")
RETRYABLE = frozenset({412, 429})


@dataclass(frozen=True)
class Backoff:
    """How often and how long to wait between attempts."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        wanted = retry_after if retry_after is not None else self.base * 2 ** (attempt - 1)
        return min(max(wanted, 0.0), self.cap)


def status_of(error: BaseException) -> int | None:
    """The HTTP status behind a connector error (None for network failures)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retryable(status: int | None) -> bool:
    return status is None or status in RETRYABLE or status >= 500


async def with_retries(call: Callable[[], Awaitable[T]], backoff: Backoff, what: str) -> T:
    """Run ``call``; on 429/412/5xx or a network error wait and try again."""
    attempt = 1
    while True:
        try:
            return await call()
        except (HttpOperationError, ClientRequestError) as error:
            status = status_of(error)
            if attempt >= backoff.attempts or not retryable(status):
                raise
            wait = backoff.delay(attempt, _retry_after(error))
            log.warning("teams_connector_retry", call=what, status=status, attempt=attempt)
            await backoff.sleep(wait)
            attempt += 1


def _retry_after(error: BaseException) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        return float(headers.get("Retry-After", ""))
    except ValueError:
        return None
