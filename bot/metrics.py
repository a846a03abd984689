"""Prometheus metrics, on a registry owned by the application (not the global one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class Metrics:
    """The counters oohbot exports at ``GET /metrics``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.inbound = Counter("oohbot_inbound_events", "Events received", ["platform"], registry=r)
        self.duplicates = Counter("oohbot_duplicate_events", "Redeliveries ignored", registry=r)
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
        self.ready = Gauge(
            "oohbot_store_ready", "1 when the store answered the last ping", registry=r
        )
