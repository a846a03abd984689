"""The structured decision (flows/decision.py): protocol-requirements §4.2–§4.4, §5.5, §2.6,
§6.1–§6.3 as form items, validated at the field; which items are required is configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_settings
from bot.errors import ConfigError
from flows import decision
from flows.decision import Decision, DecisionPolicy, Option
from flows.forms import INFO_REQUIRED
from flows.messages import Choice
from flows.request import Request
from tests.decision_values import REASONS_NOT_TOLD, approval, declining

ROOT = Path(__file__).resolve().parents[2]
EVERY = tuple(Choice(c.key, c.label) for c in INFO_REQUIRED)
POLICY = DecisionPolicy()


def _approve(
    values: dict[str, str | list[str]], policy: DecisionPolicy = POLICY
) -> tuple[Decision | None, dict[str, str]]:
    requested = decision.requested_choices(["weapons", "violence"], EVERY)
    shown = decision.items("approve", requested, policy)
    return decision.validate("approve", shown, values, policy)


def test_the_approve_form_offers_only_the_categories_asked_for() -> None:
    """§6.2 minimum necessary: what is disclosed is chosen from what was requested."""
    requested = decision.requested_choices(["weapons", "violence"], EVERY)
    form = decision.form(
        "DPT/01/2026", "approve", decision.items("approve", requested, POLICY), POLICY
    )
    fields = {f.key: f for f in form.fields}
    assert [c.key for c in fields["disclosed"].choices] == ["weapons", "violence"]
    assert fields["conditions"].value == decision.DEFAULT_CONDITIONS, "S4 §14.1–14.2 pre-filled"
    assert [c.key for c in fields["originator"].choices] == ["not_applicable", "checked", "pending"]
    assert form.form_id == "spoc:decision" and form.context == "approve"
    assert "3.11.4" in fields["override"].hint, "the override questions are shown (§4.2)"


def test_a_complete_approval_is_a_typed_decision() -> None:
    made, errors = _approve(approval())
    assert errors == {} and made is not None
    assert made.outcome == "approved" and made.power == ["cda_s115", "common_law"]
    assert made.inform_subject == "no" and made.inform_reason == REASONS_NOT_TOLD


@pytest.mark.parametrize(
    ("change", "key", "error"),
    [
        ({"disclosed": []}, "disclosed", "Select what is disclosed"),
        ({"disclosed": ["convictions"]}, "disclosed", "Select only from the options shown"),
        ({"power": []}, "power", "Select the lawful power relied on"),
        (
            {"public_interest": []},
            "public_interest",
            "Select the public-interest criteria that apply",
        ),
        ({"override": " "}, "override", "Enter your answers to the override questions"),
        (
            {"minimum": "no"},
            "minimum",
            "Reduce what is disclosed to the minimum necessary before you approve",
        ),
        ({"facts": ""}, "facts", "Select whether it is fact or opinion"),
        ({"originator": "maybe"}, "originator", "Select one of the options shown"),
        ({"inform_reason": ""}, "inform_reason", "Enter why the person will not be told"),
        ({"conditions": ""}, "conditions", "Enter the conditions on onward use"),
    ],
)
def test_each_missing_or_wrong_item_is_an_error_at_its_field(
    change: dict[str, str | list[str]], key: str, error: str
) -> None:
    made, errors = _approve({**approval(), **change})
    assert made is None and errors == {key: error}


def test_the_subject_told_needs_no_reason() -> None:
    """§5.5: a reason is needed only when the person will not be told."""
    made, errors = _approve({**approval(), "inform_subject": "yes", "inform_reason": ""})
    assert errors == {} and made is not None and made.inform_subject == "yes"


def test_a_decline_takes_a_reason_from_the_list_and_a_note() -> None:
    """§6.1: "If denied, also log the reasons for denying"."""
    shown = decision.items("decline", EVERY, POLICY)
    assert [i.key for i in shown] == ["decline_reason", "note"]
    made, errors = decision.validate("decline", shown, declining(), POLICY)
    assert made is not None and made.decline_reason == "threshold_not_met"
    _, errors = decision.validate("decline", shown, {"note": "No"}, POLICY)
    assert errors == {"decline_reason": "Select why the request is declined"}


def test_which_items_are_required_is_configuration() -> None:
    raw = {
        "directory": str(ROOT / "directory.example.yaml"),
        "policy": {
            "decision": {
                "required": ["power", "note"],
                "powers": [{"key": "local_act", "label": "A local statutory power"}],
            }
        },
    }
    policy = parse_settings(raw, {}, ROOT).policy.decision
    assert policy.powers == (Option(key="local_act", label="A local statutory power"),)
    made, errors = _approve({"power": ["local_act"], "note": "Disclosed"}, policy)
    assert errors == {} and made is not None
    _, errors = _approve({"power": ["cda_s115"], "note": "Disclosed"}, policy)
    assert errors == {"power": "Select only from the options shown"}
    with pytest.raises(ConfigError, match=r"policy\.decision"):
        parse_settings({**raw, "policy": {"decision": {"required": ["colour"]}}}, {}, ROOT)


def test_a_record_from_before_the_structured_decision_still_reads() -> None:
    """Stored requests with only ``decision_note`` load unchanged."""
    old = {
        "ref": "DPT/01/2026",
        "state": "closed",
        "requester": "amara.okafor",
        "org": "DPT",
        "on_behalf_of": "DPT",
        "created_at": "2026-11-21T02:00:00+00:00",
        "response_due_at": "2026-11-21T04:00:00+00:00",
        "outcome": "approved",
        "decision_note": "Disclosed two cautions",
    }
    request = Request.model_validate(old)
    assert request.decision is None and request.decision_note == "Disclosed two cautions"


def test_the_decision_reads_back_in_plain_words() -> None:
    made, _ = _approve(approval())
    assert made is not None
    lines = {line.label: line.value for line in decision.lines(made, EVERY, POLICY)}
    assert lines["What is disclosed"] == "Weapons"
    assert lines["Did any of it come from another signatory?"].startswith("Not applicable")
    assert lines["Will the person be told it was shared?"] == "No"
