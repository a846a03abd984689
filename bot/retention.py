"""Retention runs: find the ended requests whose retention period is over and destroy their
personal data (crypto-shredding), or list what would be destroyed; legal holds.

Candidates come from the store's index of ended requests by closure time
(``Store.closed_before``), never from a scan of every request; only those that ended at least the
shortest period ago are read. Each destruction is one unit of work: the request rewritten
without personal data and marked destroyed, its data key and subject-index entries deleted
(``UnitOfWork.shred``) and a ``retention.destroyed`` audit entry, so it happens entirely or not
at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.config import Settings
from bot.errors import NotFound
from flows import jobs, retention
from flows.digest import next_digest_at
from flows.directory import Directory
from flows.errors import OohbotError
from flows.request import LegalHold, Request
from flows.retention import Due, Retention
from store.base import AuditDraft, Change, Conflict, Job, Store, UnitOfWork, Versioned

Action = Literal["destroyed", "would destroy", "held", "changed meanwhile"]


@dataclass(frozen=True)
class Outcome:
    """One line of a retention run."""

    due: Due
    action: Action

    def row(self) -> dict[str, str]:
        """As ``oohbot retention run`` prints it."""
        return {
            "ref": self.due.ref,
            "rule": self.due.describe(),
            "closed": self.due.closed_at.isoformat(timespec="minutes"),
            "due": self.due.due_at.isoformat(timespec="minutes"),
            "action": self.action,
        }


@dataclass(frozen=True)
class Candidate:
    """A request past its retention period, as read (with its version for the write)."""

    stored: Versioned
    request: Request
    due: Due


PAGE = 200
"""Requests read at once by a retention run."""


def _periods_by_org(periods: Retention, directory: Directory | None) -> dict[str, Retention]:
    if directory is None:
        return {}
    return {
        org.code: org.settings.retention_over(periods)
        for org in directory.organisations
        if org.settings.retention
    }


async def candidates(
    store: Store,
    periods: Retention,
    now: datetime,
    directory: Directory | None = None,
    *,
    enough: int | None = None,
) -> list[Candidate]:
    """Ended requests whose period is over at ``now`` (held ones included, marked held);
    each organisation's own periods (directory ``settings.retention``) apply to its requests.
    Read a page at a time, oldest first, stopping once ``enough`` are due and not held (the
    daily job's batch): memory stays one page however long the history."""
    by_org = _periods_by_org(periods, directory)
    cutoff = min(retention.shortest(p).before(now) for p in [periods, *by_org.values()])
    refs = await store.closed_before(cutoff.timestamp())
    found: list[Candidate] = []
    for start in range(0, len(refs), PAGE):
        order = {ref: n for n, ref in enumerate(refs[start : start + PAGE])}
        page = await store.get_requests(list(order))
        for stored in sorted(page, key=lambda v: order[str(v.data["ref"])]):
            request = Request.model_validate(stored.data)
            due = retention.due(request, by_org.get(request.org, periods))
            if due is not None and due.due_at <= now:
                found.append(Candidate(stored, request, due))
        if enough is not None and sum(not c.due.held for c in found) >= enough:
            break
    return found


def destruction(candidate: Candidate, now: datetime, actor: str) -> UnitOfWork:
    """The unit of work that destroys one request's personal data."""
    new, audit = retention.destroyed(candidate.request, candidate.due, now)
    ref = candidate.request.ref
    change = Change(ref, new.model_dump(mode="json"), candidate.stored.version)
    draft = AuditDraft(now, actor, audit.action, ref, dict(audit.details))
    return UnitOfWork(requests=[change], shred=[ref], audit=[draft])


async def run(
    store: Store,
    periods: Retention,
    now: datetime,
    *,
    dry_run: bool,
    actor: str,
    directory: Directory | None = None,
) -> list[Outcome]:
    """Destroy (or, with ``dry_run``, list) what is due; held requests are listed, kept."""
    outcomes: list[Outcome] = []
    for candidate in await candidates(store, periods, now, directory):
        if candidate.due.held:
            outcomes.append(Outcome(candidate.due, "held"))
        elif dry_run:
            outcomes.append(Outcome(candidate.due, "would destroy"))
        else:
            try:
                await store.commit(destruction(candidate, now, actor))
            except Conflict:  # changed since read (a hold placed?): the next run looks again
                outcomes.append(Outcome(candidate.due, "changed meanwhile"))
                continue
            outcomes.append(Outcome(candidate.due, "destroyed"))
    return outcomes


def next_run(now: datetime, settings: Settings, more: bool) -> Job:
    """The retention job's next run: at ``retention.run_at`` tomorrow (local time), or in a
    minute when this run left due requests for the next batch."""
    job_id = jobs.job_id(jobs.RETENTION, "daily")
    if more:
        return Job(job_id, jobs.RETENTION, now.timestamp() + 60)
    due = next_digest_at(now, settings.service.zone, settings.retention.run_at)
    return Job(job_id, jobs.RETENTION, due.timestamp())


class HoldRefused(OohbotError):
    """A hold or release that cannot be done; the message says why, in plain words."""

    exit_code = 1


async def set_hold(
    store: Store, ref: str, now: datetime, actor: str, reason: str | None
) -> Request:
    """Place (``reason`` given) or release (None) a legal hold on ``ref``, audited."""
    stored = await store.get_request(ref)
    if stored is None:
        raise NotFound(f"no request with reference {ref!r}; 'oohbot requests list' shows them")
    request = Request.model_validate(stored.data)
    if request.destroyed_at is not None:
        raise HoldRefused(retention.destruction_notice(request) or "its data was destroyed")
    if reason is not None and not reason.strip():
        raise HoldRefused("Enter the reason for the hold, for example 'litigation, case L-123'")
    if reason is None and request.legal_hold is None:
        raise HoldRefused(f"{ref} has no legal hold to release")
    hold = None if reason is None else LegalHold(reason=reason.strip(), by=actor, at=now)
    new = request.model_copy(update={"legal_hold": hold})
    action = "retention.hold" if hold is not None else "retention.released"
    work = UnitOfWork(
        requests=[Change(ref, new.model_dump(mode="json"), stored.version)],
        audit=[AuditDraft(now, actor, action, ref, {})],
    )
    await store.commit(work)
    return new
