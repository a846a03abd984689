"""Handing a request to a named rota colleague (button ``spoc:reassign``, value = reference).

The button opens a choice form of the colleagues on the SPOC rota; submitting it pages the
chosen colleague at once (their own page and the next escalation step after the usual wait)
and puts the request back to waiting for them: acknowledging takes ownership. Someone not on
the rota is refused, and every hand-over is audited.
"""

from __future__ import annotations

from flows import cards, jobs
from flows.context import LifecycleContext
from flows.directory import Officer
from flows.effects import Audit, CancelJob, Effect, Schedule, Send
from flows.ids import FormId
from flows.messages import Choice, Form, FormField, Text, ToOfficer, ToSpocChannel
from flows.oncall import pageable_rota
from flows.request import Request

FIELD = "officer"
NOT_ON_ROTA = "Choose a colleague who is on the SPOC rota"


def colleagues(actor: Officer, ctx: LifecycleContext) -> tuple[str, ...]:
    """Whom ``actor`` may hand a request to: the rota members who may act today, but them."""
    return tuple(
        o for o in pageable_rota(ctx.directory, ctx.now, ctx.calendar.zone) if o != actor.id
    )


def form(request: Request, actor: Officer, ctx: LifecycleContext, error: str = "") -> Form:
    """The choice form: one option per rota colleague (name and post)."""
    choices = tuple(Choice(o, cards.who(ctx.directory, o)) for o in colleagues(actor, ctx))
    field = FormField(
        key=FIELD,
        label="Who should take this request over",
        kind="choice",
        choices=choices,
        hint="They are paged at once; the request is theirs when they acknowledge it.",
        error=error,
    )
    return Form(
        form_id=FormId.REASSIGN,
        title=f"Hand over {request.ref}",
        ref=request.ref,
        fields=(field,),
        submit_label="Hand over",
        notification=f"Hand over {request.ref}",
    )


def handed_over(
    before: Request, moved: Request, actor: Officer, to: str, ctx: LifecycleContext
) -> tuple[Request, list[Effect], Text]:
    """``moved`` (already back to paged) handed to ``to``: the page, its timer, the notices."""
    step = len(before.paged) + 1
    new = moved.model_copy(
        update={"paged": [*before.paged, to], "acknowledged_by": None, "acknowledged_at": None}
    )
    card = cards.spoc_card(new, ctx.directory, ctx)
    handover = Text(
        f"{cards.who(ctx.directory, actor.id)} has handed urgent information request "
        f"{new.ref} to you. Acknowledge it on the card to take it over.",
        notification=f"Urgent request {new.ref} handed to you",
    )
    notice = cards.channel_text(
        f"Request {new.ref} was handed over to {cards.post_of(ctx.directory, to)}.", new.ref
    )
    effects: list[Effect] = [
        CancelJob(jobs.job_id(jobs.SPOC_ACK, before.ref, len(before.paged))),
        Send(ToOfficer(to), handover),
        Send(ToOfficer(to), card),
        Send(ToSpocChannel(), card),
        Send(ToSpocChannel(), notice),
        Schedule(
            jobs.job_id(jobs.SPOC_ACK, new.ref, step),
            jobs.SPOC_ACK,
            ctx.now + ctx.timers.spoc_ack,
            {"ref": new.ref, "page": step},
        ),
        Audit(
            "request.reassigned",
            new.ref,
            {"state": new.state, "by": actor.id, "to": to, "page": step},
        ),
    ]
    reply = Text(f"{new.ref} is handed to {cards.who(ctx.directory, to)}, who has been paged.")
    return new, effects, reply
