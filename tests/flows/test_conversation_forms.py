"""The intake per form kind and per organisation: the PDP questions, an update's master
reference, routine requests in office hours, and each organisation's office hours and forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from zoneinfo import ZoneInfo

from flows.calendar import BusinessCalendar
from flows.conversation import ConversationContext, ConversationFlow, Step
from flows.messages import Question
from flows.org_settings import OrgOfficeHours, OrgSettings
from flows.policy import Policy
from tests.flows.test_conversation import (
    ANSWERS,
    FLOW,
    asked,
    ctx,
    inbound,
    review_cards,
    texts,
)

PDP = {
    **ANSWERS,
    "form": "pdp",
    "behaviour": "Threats, more often lately",
    "risk_nature": "Violence",
    "at_risk": "His neighbours",
    "risk_increases": "Drink",
    "risk_reduces": "His support worker",
    "serious_harm_likely": "yes",
    "powers": "1, 2",
    "hr_a": "yes",
    "hr_b": "yes",
    "hr_c": "no",
    "hr_d": "yes",
    "hr_e": "no",
    "hr_f": "yes",
    "other_agencies": "skip",
}


def _asked_all(answers: dict[str, str], context: ConversationContext) -> tuple[Step, list[str]]:
    step = FLOW.step(FLOW.begin(context).session, inbound("no"), context)
    seen: list[str] = []
    for _ in range(60):
        field = asked(step)
        if field in ("review", ""):
            return step, seen
        seen.append(field)
        step = FLOW.step(step.session, inbound(answers[field]), context)
    raise AssertionError("the questions never ended")


def test_the_pdp_form_asks_its_questions_and_shows_them_on_the_review() -> None:
    step, seen = _asked_all(PDP, ctx())
    assert seen[seen.index("info_required") + 1 : seen.index("consent")] == [
        "behaviour", "risk_nature", "at_risk", "risk_increases", "risk_reduces",
        "serious_harm_likely", "powers", "hr_a", "hr_b", "hr_c", "hr_d", "hr_e", "hr_f",
        "other_agencies",
    ]  # fmt: skip
    [card] = review_cards(step)
    labels = [f.label for f in card.fields]
    assert any("Nature of risk" in label for label in labels)
    done = FLOW.step(step.session, inbound("submit"), ctx())
    assert done.submission is not None and done.submission.form == "pdp"
    assert done.submission.answers["powers"] == ["cda_s115", "dpa_s29"]
    assert done.submission.answers["hr_c"] == "no"


def test_the_mh1_form_asks_no_pdp_question() -> None:
    _, seen = _asked_all(ANSWERS, ctx())
    assert not {"behaviour", "powers", "hr_a"} & set(seen)


def test_details_for_test_e_are_asked_when_e_is_yes() -> None:
    _, seen = _asked_all({**PDP, "hr_e": "yes", "hr_e_details": "Only what is needed"}, ctx())
    assert seen[seen.index("hr_e") + 1] == "hr_e_details"


def test_a_master_reference_not_found_is_refused_at_the_question_and_nothing_is_lost() -> None:
    context = ctx()
    begun = FLOW.begin(context, "update")
    assert "update of an earlier one" in texts(begun)
    step = FLOW.step(begun.session, inbound("no"), context)
    for _ in range(10):
        if asked(step) == "master_ref":
            break
        step = FLOW.step(step.session, inbound(ANSWERS[asked(step)]), context)
    assert asked(step) == "master_ref"
    kept = dict(step.session.answers)
    refused = FLOW.step(step.session, inbound("npt/4/2026"), context)
    [question] = [m for m in refused.replies if isinstance(m, Question)]
    assert question.field == "master_ref"
    assert "cannot find a request NPT/04/2026 made by your organisation" in question.error
    assert refused.session.answers == kept
    foreign = replace(context, references={"NPT/04/2026": ("OTHER", "OTHER")})
    assert asked(FLOW.step(step.session, inbound("NPT/04/2026"), foreign)) == "master_ref"
    mine = replace(context, references={"NPT/04/2026": ("NPT", "NPT")})
    accepted = FLOW.step(step.session, inbound("NPT/4/2026"), mine)
    assert accepted.session.answers["master_ref"] == "NPT/04/2026"
    assert asked(accepted) != "master_ref"


def test_a_request_that_can_wait_is_routine_where_the_policy_says_so() -> None:
    flow = ConversationFlow(Policy(routine_in_hours=True))
    context = replace(ctx(in_hours=True), policy=flow.policy)
    step = flow.step(flow.begin(context).session, inbound("no"), context)
    assert asked(step) == "urgent_in_hours"
    step = flow.step(step.session, inbound("no"), context)
    assert step.session.answers["urgent_in_hours"] == "no" and asked(step) != ""
    redirected = FLOW.step(
        FLOW.step(
            FLOW.begin(ctx(in_hours=True)).session, inbound("no"), ctx(in_hours=True)
        ).session,
        inbound("no"),
        ctx(in_hours=True),
    )
    assert redirected.session.state == "redirected", "by default it goes the written route"


def _org_context(settings: OrgSettings) -> ConversationContext:
    base = ctx()
    orgs = tuple(
        o.model_copy(update={"settings": settings}) if o.code == "NPT" else o
        for o in base.directory.organisations
    )
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    calendar = BusinessCalendar(
        ZoneInfo("Europe/London"), time(8, 30), time(17, 0), weekdays, "ENG"
    )
    directory = base.directory.model_copy(update={"organisations": orgs})
    return replace(base, directory=directory, calendar=calendar)


def test_office_hours_are_the_requesters_organisations() -> None:
    """NIGHT is Saturday 02:00: out of the service's hours, in this organisation's."""
    night_desk = OrgSettings(
        office_hours=OrgOfficeHours(start=time(0, 0), end=time(6, 0), days=("sat",))
    )
    context = _org_context(night_desk)
    step = FLOW.step(FLOW.begin(context).session, inbound("no"), context)
    assert asked(step) == "urgent_in_hours"
    context = _org_context(OrgSettings())
    step = FLOW.step(FLOW.begin(context).session, inbound("no"), context)
    assert asked(step) != "urgent_in_hours"


def test_an_organisation_offers_only_its_forms_at_intake() -> None:
    context = _org_context(OrgSettings(forms=("pdp",)))
    step = FLOW.step(FLOW.begin(context).session, inbound("no"), context)
    step = FLOW.step(step.session, inbound(ANSWERS["on_behalf_of"]), context)
    [question] = [m for m in step.replies if isinstance(m, Question)]
    assert question.field == "form" and [c.key for c in question.choices] == ["pdp"]
    assert asked(FLOW.step(step.session, inbound("mh1"), context)) == "form", "not offered"


def test_update_typed_at_the_review_asks_the_master_reference_and_returns_to_the_review() -> None:
    from tests.flows.test_conversation import at_review

    review = at_review()
    step = FLOW.step(review.session, inbound("update"), ctx())
    assert asked(step) == "master_ref"
    mine = replace(ctx(), references={"NPT/07/2026": ("NPT", "NCC")})
    back = FLOW.step(step.session, inbound("NPT/07/2026"), mine)
    assert back.session.state == "reviewing"
    [card] = review_cards(back)
    shown = [(f.label.split(". ", 1)[1], f.value) for f in card.fields]
    assert ("Update of previous information", "Yes") in shown
    assert ("Master reference", "NPT/07/2026") in shown
