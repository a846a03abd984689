"""Corrections through the unit of work: the amended request, the private notices to everyone
who received the earlier version (as outbox entries, sent by the service's dispatcher) and the
audit entry are committed together (``flows.corrections`` decides what they are)."""

from __future__ import annotations

from datetime import datetime

from bot.errors import NotFound
from bot.unit import Leases, Unit
from flows import corrections
from flows.corrections import Amended, Part
from flows.directory import Directory
from flows.policy import Policy
from flows.request import Request
from store.base import Store

DETAILS_VIEWED = "request.details_viewed"


async def viewers(store: Store, ref: str) -> list[str]:
    """The officers who opened the request's details, from its own audit entries (the store
    indexes them by reference: this reads one request's trail, not the whole chain)."""
    return [
        entry.actor for entry in await store.audit_entries(ref) if entry.action == DETAILS_VIEWED
    ]


async def amend(
    store: Store,
    directory: Directory,
    ref: str,
    by: str,
    changes: dict[str, str],
    reason: str,
    now: datetime,
    *,
    part: Part = "request",
    policy: Policy | None = None,
) -> Amended:
    """Amend ``ref`` as officer ``by`` and commit it with its notices and audit entry."""
    stored = await store.get_request(ref)
    if stored is None:
        raise NotFound(f"no request with reference {ref!r}; 'oohbot requests list' shows them")
    request = Request.model_validate(stored.data)
    amended = corrections.amend(
        request,
        directory.officer(by),
        changes,
        reason,
        now,
        await viewers(store, ref),
        part=part,
        policy=policy,
        directory=directory,
    )
    # No lease: whichever dispatcher runs (the service's) claims and sends the notices.
    unit = Unit(now, by, None, (), Leases("", 0.0, 0.0))
    unit.save_request(ref, amended.request.model_dump(mode="json"), stored.version)
    unit.apply(amended.effects, ref)
    await store.commit(unit.work)
    return amended
