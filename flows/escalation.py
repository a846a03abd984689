"""Paging by the desk's escalation policy (``spoc.escalation``): it never goes quiet.

Step ``k`` of the policy (``k = len(request.paged)``, counting from 0) pages level
``k % levels`` of round ``k // levels``. Each page schedules the next step as an ``spoc_ack``
job with the deterministic id ``spoc_ack:<ref>:<k+1>``, so the existing cancellations (an
acknowledgement, a question, a decision, a withdrawal) stop the policy everywhere at once,
and a job that fires after one of them finds the request no longer paged and does nothing.
A level that reaches nobody at that moment (an empty layer) is passed over at once.

The requester hears where things stand at every step after the first, in plain words and
without anyone's name; the channel sees the reference and the level only.
"""

from __future__ import annotations

from datetime import timedelta

from flows import cards, jobs
from flows.context import LifecycleContext
from flows.effects import Audit, Effect, Schedule, Send
from flows.escalation_policy import Level
from flows.messages import Text, ToOfficer, ToSpocChannel
from flows.oncall import layers_on_duty, level_label, policy_levels, resolve
from flows.request import Request

PASSED_OVER = ""
"""What ``Request.paged`` records for a level that reached nobody."""


def applies(ctx: LifecycleContext) -> bool:
    """Whether the directory configures an escalation policy (else the rota pages)."""
    return ctx.directory.spoc.escalation is not None


def page(request: Request, ctx: LifecycleContext) -> tuple[Request, list[Effect]]:
    """Page the next step of the policy and schedule the one after it."""
    levels = policy_levels(ctx.directory, ctx.timers.spoc_ack)
    paged, officer = _next_reached(request, levels, ctx)
    step = len(paged)
    number, rounds = (step - 1) % len(levels), (step - 1) // len(levels)
    level = levels[number]
    new = request.model_copy(update={"paged": paged, "page_round": rounds})
    where = f"level {number + 1} of {len(levels)}, round {rounds + 1}"
    effects = _pages(request, new, officer, ctx)
    label = level_label(level, ctx.directory)
    notice = f"Request {new.ref} is waiting for a SPOC: {label} paged ({where})."
    effects.append(Send(ToSpocChannel(), cards.channel_text(notice, new.ref)))
    if step > 1:
        effects.append(Send(ToOfficer(new.requester), _requester_update(new.ref, label, where)))
    due = ctx.now + _wait_after(level, number, len(levels), ctx)
    job_id = jobs.job_id(jobs.SPOC_ACK, new.ref, step)
    effects.append(Schedule(job_id, jobs.SPOC_ACK, due, {"ref": new.ref, "page": step}))
    where_audit = {"officer": officer or "", "page": step, "level": number + 1}
    effects.append(
        Audit("request.paged", new.ref, {**where_audit, "round": rounds + 1, "state": new.state})
    )
    return new, effects


def _next_reached(
    request: Request, levels: tuple[Level, ...], ctx: LifecycleContext
) -> tuple[list[str], str | None]:
    """The steps taken, with the levels passed over that reach nobody now, and who the
    last one reaches (None if no level reaches anyone)."""
    layers = layers_on_duty(ctx.directory, ctx.now, ctx.calendar.zone)
    paged = list(request.paged)
    officer: str | None = None
    for _ in levels:
        officer = resolve(levels[len(paged) % len(levels)], layers, ctx.directory)
        paged.append(officer or PASSED_OVER)
        if officer:
            break
    return paged, officer


def _pages(
    before: Request, new: Request, officer: str | None, ctx: LifecycleContext
) -> list[Effect]:
    """The page itself: the officer's alert and card, and the channel's card."""
    if not officer:
        return []
    card = cards.spoc_card(new, ctx.directory, ctx)
    repeat = officer in before.paged
    return [
        Send(ToOfficer(officer), cards.page_text(new.ref, repeat=repeat)),
        Send(ToOfficer(officer), card),
        Send(ToSpocChannel(), card),
    ]


def is_due(request: Request, payload_page: object) -> bool:
    """Whether an ``spoc_ack`` job is the policy's current next step (else it is stale)."""
    return payload_page == len(request.paged)


def _wait_after(level: Level, number: int, count: int, ctx: LifecycleContext) -> timedelta:
    """A level's own wait; after the last level, the pause before the policy repeats."""
    policy = ctx.directory.spoc.escalation
    if number < count - 1 or policy is None:
        return level.wait
    return max(level.wait, policy.repeat_every)


def _requester_update(ref: str, label: str, where: str) -> Text:
    return Text(
        f"Nobody at the police SPOC desk has picked up request {ref} yet. I have now alerted "
        f"{label} ({where}) and will keep going until someone answers. If anyone "
        "is in immediate danger, call the police control room on 999.",
        notification=f"Update on request {ref}",
    )
