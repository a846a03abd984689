"""'Did you mean …?' in the conversation: a near miss is offered, never taken silently."""

from __future__ import annotations

from flows.messages import Question
from tests.flows.test_conversation import FLOW, _at, asked, ctx, inbound, say, texts


def _question(step: object) -> Question:
    return [m for m in step.replies if isinstance(m, Question)][-1]  # type: ignore[attr-defined]


def test_a_typo_in_an_organisation_is_offered_back_and_yes_takes_it() -> None:
    offered = say(_at("on_behalf_of"), "Northmor County Concil")
    question = _question(offered)
    assert question.prompt == "Did you mean Northmoor County Council?"
    assert [c.key for c in question.choices] == ["yes", "no"]
    assert question.progress == "Question 1 of 17", "still the same question"
    assert "on_behalf_of" not in offered.session.answers, "nothing taken without a yes"
    taken = say(offered, "yes")
    assert taken.session.answers["on_behalf_of"] == "NCC" and asked(taken) == "form"


def test_the_yes_button_takes_it_too() -> None:
    offered = say(_at("consent"), "not sougth")
    assert _question(offered).prompt == "Did you mean Not sought?"
    click = inbound(kind="action", action="answer:consent:yes", value="yes")
    taken = FLOW.step(offered.session, click, ctx())
    assert taken.session.answers["consent"] == "not_sought" and asked(taken) == "consent_reason"


def test_no_shows_every_option_again() -> None:
    offered = say(_at("consent"), "not sougth")
    refused = say(offered, "no")
    question = _question(refused)
    assert [c.key for c in question.choices] == ["obtained", "refused", "not_sought"]
    assert question.error and asked(refused) == "consent"
    assert "consent" not in refused.session.answers


def test_a_fresh_answer_instead_of_yes_or_no_is_read_as_an_answer() -> None:
    offered = say(_at("consent"), "not sougth")
    answered = say(offered, "1")
    assert answered.session.answers["consent"] == "obtained"
    assert answered.session.suggestion == {}


def test_a_suggestion_lasts_one_reply_and_only_for_its_question() -> None:
    offered = say(_at("consent"), "not sougth")
    helped = say(offered, "help")
    assert helped.session.suggestion == {} and asked(helped) == "consent"
    later = say(helped, "yes")
    assert "consent" not in later.session.answers, "a stale yes does not take an old guess"
    assert "Please choose" in texts(later)


def test_multi_choice_typos_are_offered_together() -> None:
    offered = say(_at("info_required"), "weapns, violnce")
    assert _question(offered).prompt == "Did you mean Weapons, Violence?"
    taken = say(offered, "y")
    assert taken.session.answers["info_required"] == ["weapons", "violence"]
