"""Prometheus metrics, on a registry owned by the application (not the global one).

What an on-call engineer alerts on (README: Metrics): the store answering
(``oohbot_store_ready``, kept current by a background task), timers running late
(``oohbot_job_lag_seconds``, ``oohbot_jobs_waiting``), dead letters, the outbox backing up,
SLA breaches, and 5xx or slow answers per route. Counters of what happened on a night
(pages, escalations, SLA warnings and breaches) are read from the audit entries as they are
committed (``observe_audit``), so they count exactly what the audit log records.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.logs import get_logger
from store.base import OutboxStats, Store

log = get_logger("metrics")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PING_TIMEOUT_SECONDS = 2.0
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Any other method is counted as ``other``, so made-up methods cannot add series."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Metrics:
    """The metrics oohbot exports at ``GET /metrics``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.inbound = Counter("oohbot_inbound_events", "Events received", ["platform"], registry=r)
        self.duplicates = Counter("oohbot_duplicate_events", "Redeliveries ignored", registry=r)
        self.deferred = Counter(
            "oohbot_events_deferred",
            "Events that could not be handled at once and were put in the inbox",
            ["platform"],
            registry=r,
        )
        self.requests = Counter("oohbot_requests_submitted", "Requests submitted", registry=r)
        self.decisions = Counter("oohbot_decisions", "SPOC decisions", ["outcome"], registry=r)
        self.jobs = Counter("oohbot_jobs", "Timer jobs run", ["kind", "result"], registry=r)
        self.delivery_failures = Counter(
            "oohbot_delivery_failures",
            "Messages that could not be delivered",
            ["platform"],
            registry=r,
        )
        self.outbox = Counter(
            "oohbot_outbox_deliveries", "Outbox deliveries by result", ["result"], registry=r
        )
        self.outbox_depth = Gauge(
            "oohbot_outbox_depth", "Messages committed and not yet delivered", registry=r
        )
        self.outbox_age = Gauge(
            "oohbot_outbox_oldest_due_seconds",
            "How long the most overdue undelivered message has been due",
            registry=r,
        )
        self.errors = Counter("oohbot_errors", "Unexpected errors shown to users", registry=r)
        self._night_counters(r)
        self._store_gauges(r)
        self.latency = Histogram(
            "oohbot_http_request_duration_seconds",
            "Time to answer an HTTP request, per route (live event streams are left out)",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _night_counters(self, r: CollectorRegistry) -> None:
        self.pages = Counter(
            "oohbot_pages", "SPOC officers paged (first pages and escalations)", registry=r
        )
        self.escalations = Counter(
            "oohbot_escalations",
            "Pages that went unacknowledged: next_officer paged, or rota_exhausted (fallback)",
            ["outcome"],
            registry=r,
        )
        self.sla_warnings = Counter(
            "oohbot_sla_warnings", "Urgent responses about to miss their due time", registry=r
        )
        self.sla_breaches = Counter(
            "oohbot_sla_breaches", "Urgent responses that missed their due time", registry=r
        )

    def _store_gauges(self, r: CollectorRegistry) -> None:
        self.ready = Gauge(
            "oohbot_store_ready", "1 when the store answered the last ping", registry=r
        )
        self.store_checked = Gauge(
            "oohbot_store_checked_timestamp_seconds",
            "When the store was last checked (Unix time): stale means the checker stopped",
            registry=r,
        )
        self.jobs_waiting = Gauge(
            "oohbot_jobs_waiting",
            "Timer jobs due now and not yet claimed (queue depth)",
            registry=r,
        )
        self.jobs_scheduled = Gauge(
            "oohbot_jobs_scheduled", "Timer jobs not yet completed, due or not", registry=r
        )
        self.job_lag = Gauge(
            "oohbot_job_lag_seconds",
            "How long the oldest waiting timer job has been due (0: none waiting)",
            registry=r,
        )
        self.dead_letters = Gauge(
            "oohbot_dead_letters",
            "Timer jobs (queue=jobs) or messages (queue=outbox) that failed every attempt",
            ["queue"],
            registry=r,
        )

    def observe_audit(self, action: str, details: Mapping[str, Any]) -> None:
        """Count what an audit entry records (call it once per entry written)."""
        if action == "request.paged":
            self.pages.inc()
            if _int(details.get("page")) > 1:
                self.escalations.labels(outcome="next_officer").inc()
        elif action == "request.escalation_exhausted":
            self.escalations.labels(outcome="rota_exhausted").inc()
        elif action == "request.response_warning":
            self.sla_warnings.inc()
        elif action == "request.response_breached":
            self.sla_breaches.inc()


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


async def refresh_store_gauges(metrics: Metrics, store: Store, now: float) -> None:
    """Ping the store and, if it answers, read the sizes of the job queue, the outbox and the
    dead letters (counts, not contents: see ``QueueStats``)."""
    ready = await ping(store)
    metrics.ready.set(1 if ready else 0)
    metrics.store_checked.set(time.time())
    if not ready:
        return
    stats = await store.queue_stats(now)
    metrics.jobs_waiting.set(stats.jobs_waiting)
    metrics.jobs_scheduled.set(stats.jobs_scheduled)
    metrics.job_lag.set(_overdue(stats.oldest_job_due, now))
    show_outbox(metrics, stats.outbox, now)
    metrics.dead_letters.labels(queue="jobs").set(stats.dead_jobs)
    metrics.dead_letters.labels(queue="outbox").set(stats.dead_outbox)


def show_outbox(metrics: Metrics, stats: OutboxStats, now: float) -> None:
    """Set the outbox depth and how long its longest-waiting entry has been due."""
    metrics.outbox_depth.set(stats.depth)
    metrics.outbox_age.set(_overdue(stats.oldest_due, now))


def _overdue(due: float | None, now: float) -> float:
    return max(now - due, 0.0) if due is not None else 0.0


async def ping(store: Store) -> bool:
    """Whether the store answers within ``PING_TIMEOUT_SECONDS``."""
    try:
        return await asyncio.wait_for(store.ping(), timeout=PING_TIMEOUT_SECONDS)
    except Exception:
        return False


async def keep_store_gauges(
    metrics: Metrics, store: Store, now: Callable[[], float], every: float, stop: asyncio.Event
) -> None:
    """Refresh the store gauges every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            await refresh_store_gauges(metrics, store, now())
        except Exception as error:
            log.warning("metrics_refresh_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def latency_middleware(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Time every answer by route template (``/web/{asset}``, not the path: few series)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as error:
            _observe(metrics, request, error.status, started)
            raise
        except Exception:
            _observe(metrics, request, 500, started)
            raise
        if response.content_type != "text/event-stream":  # a stream's time is its lifetime
            _observe(metrics, request, response.status, started)
        return response

    return middleware


def _observe(metrics: Metrics, request: web.Request, status: int, started: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    method = request.method if request.method in KNOWN_METHODS else "other"
    labels = metrics.latency.labels(route=route, method=method, status=f"{status // 100}xx")
    labels.observe(time.perf_counter() - started)
