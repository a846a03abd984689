"""The form spec: keys, options, conditions, summary and the retrospective MH1/PDP forms."""

from __future__ import annotations

from datetime import date

from flows.forms import (
    FormContext,
    conversation_fields,
    field_by_key,
    pdp_fields,
    retro_fields,
    summary_lines,
    validate_retro,
)
from flows.policy import Policy

TODAY = date(2026, 11, 21)
SPEC = conversation_fields(Policy())
KEYS = [
    "emergency", "verify.code", "urgent_in_hours", "on_behalf_of", "form", "subject.last_name",
    "subject.first_names", "subject.alias", "subject.dob", "subject.place_of_birth",
    "subject.address", "subject.postcode", "reason", "grounds", "info_required", "info_other",
    "consent", "consent_reason", "lawful_basis", "summary", "contact_phone", "review",
]  # fmt: skip


def _options(key: str) -> list[str]:
    return [c.key for c in field_by_key(SPEC, key).choices]


def test_the_field_keys_are_the_public_contract() -> None:
    """DESIGN.md "Form field keys" (plus ``child_protection``, asked only where the local
    protocol sets ``policy.child_protection_advice``; ``update``/``master_ref``, asked only of
    an update; and the PDP form's own questions, asked only for it)."""
    extra = {"child_protection", "update", "master_ref", *(f.key for f in pdp_fields())}
    assert [f.key for f in SPEC if f.key not in extra] == KEYS
    assert field_by_key(SPEC, "child_protection").context_rule == "child_protection"


def test_option_keys_follow_the_contract_and_the_protocol() -> None:
    """protocol-requirements §2.1 (MH1 consent, reason, information required) and §4.1
    (urgency grounds S4 App4 §2.4.1–2.4.5)."""
    assert _options("emergency") == ["yes", "no"]
    assert _options("form") == ["mh1", "pdp"]
    assert _options("reason") == ["risk", "harm"]
    assert _options("consent") == ["obtained", "refused", "not_sought"]
    assert _options("review") == ["submit", "edit", "cancel"]
    assert _options("grounds") == [
        "health_threat", "injury_prevention", "vulnerable_protection", "public_safety",
        "offender_apprehension",
    ]  # fmt: skip
    assert len(_options("info_required")) == 10 and _options("info_required")[-1] == "other"
    assert _options("lawful_basis") == [c.key for c in Policy().lawful_bases]
    labels = [c.label for c in field_by_key(SPEC, "consent").choices]
    assert labels == ["Sought and obtained", "Sought and refused", "Not sought"]


def test_conditional_questions() -> None:
    """DESIGN.md: a field asked only under a condition is skipped otherwise."""
    night, day = FormContext(), FormContext(in_office_hours=True)
    urgent = field_by_key(SPEC, "urgent_in_hours")
    assert urgent.applies({}, day) and not urgent.applies({}, night)
    assert not urgent.applies({}, FormContext(in_office_hours=True, ask_in_hours=False))
    assert field_by_key(SPEC, "verify.code").applies({}, FormContext(has_totp=True))
    assert not field_by_key(SPEC, "verify.code").applies({}, night)
    other = field_by_key(SPEC, "info_other")
    assert other.applies({"info_required": ["other"]}, night)
    assert not other.applies({"info_required": ["weapons"]}, night)
    reason = field_by_key(SPEC, "consent_reason")
    assert not reason.applies({"consent": "obtained"}, night)
    assert reason.applies({"consent": "refused"}, night)


def test_optional_fields_accept_skip_and_required_ones_do_not() -> None:
    assert field_by_key(SPEC, "subject.alias").parse("skip", TODAY) == ""
    assert field_by_key(SPEC, "subject.last_name").parse("Skip", TODAY) == "Skip"


def test_summary_lines_show_labels_and_leave_out_answers_that_no_longer_apply() -> None:
    answers = {
        "emergency": "no",
        "subject.dob": "1980-05-03",
        "grounds": ["health_threat", "public_safety"],
        "consent": "obtained",
        "consent_reason": "left over from an earlier answer",
        "subject.alias": "",
        "contact_phone": "+447700900123",
    }
    lines = dict(summary_lines(answers, SPEC))
    assert lines["Date of birth"] == "03/05/1980"
    assert lines["Urgency grounds"].startswith("A real threat to the health")
    assert lines["Alias"] == "(skipped)" and lines["Call-back number"] == "07700 900123"
    assert "Reason for going ahead without consent" not in lines
    assert "Immediate danger" not in lines


def test_the_mh1_retrospective_form_is_prefilled_from_the_request() -> None:
    """protocol-requirements §2.1: MH1 page 1, incl. priority and requested-by."""
    answers = {"subject.last_name": "Testperson", "subject.dob": "1980-05-03", "grounds": ["x"]}
    fields = {f.key: f for f in retro_fields("mh1", answers, requested_by="A Name, On call")}
    assert fields["subject.last_name"].value == "Testperson"
    assert fields["subject.dob"].value == "03/05/1980" and fields["subject.dob"].kind == "date"
    assert fields["priority"].value == "within_2h"
    assert fields["requested_by"].value == "A Name, On call"
    assert fields["ethnicity"].optional and fields["distinguishing_marks"].optional


def _pdp(**changes: str | list[str]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        "subject.last_name": "Testperson",
        "subject.first_names": "Example",
        "subject.dob": "03/05/1980",
        "behaviour": "b",
        "risk_nature": "n",
        "at_risk": "a",
        "risk_increases": "i",
        "risk_reduces": "r",
        "serious_harm_likely": "yes",
        "powers": ["cda_s115"],
        **{f"hr_{x}": "yes" for x in "abcdf"},
        "hr_e": "no",
    }
    values.update(changes)
    return values


def test_a_complete_pdp_form_validates_to_clean_values() -> None:
    clean, errors = validate_retro("pdp", _pdp(), TODAY)
    assert errors == {}
    assert clean["subject.dob"] == "1980-05-03" and clean["powers"] == ["cda_s115"]


def test_mopi_is_police_only_and_never_alone() -> None:
    """protocol-requirements §2.2 / §10.19: MoPI "Cannot be used in isolation"; "Police Only"."""
    _, errors = validate_retro("pdp", _pdp(powers=["mopi", "cda_s115"]), TODAY)
    assert "police" in errors["powers"]
    _, errors = validate_retro("pdp", _pdp(powers=["mopi"]), TODAY, police=True)
    assert "alone" in errors["powers"]
    _, errors = validate_retro("pdp", _pdp(powers=["mopi", "common_law"]), TODAY, police=True)
    assert errors == {}


def test_proportionality_yes_needs_details() -> None:
    """protocol-requirements §2.2: if (e) is Yes, details are required."""
    _, errors = validate_retro("pdp", _pdp(hr_e="yes"), TODAY)
    assert "hr_e_details" in errors


def test_mh1_cross_field_rules_and_required_fields() -> None:
    """protocol-requirements §5.3: reasons for not obtaining consent must be recorded."""
    values = {
        "priority": "1", "update": "no", "subject.last_name": "Testperson",
        "subject.first_names": "Example", "subject.dob": "3 May 1980", "reason": "risk",
        "consent": "not_sought", "info_required": "weapons, other",
        "requested_by": "A Name", "contact_phone": "01632 960123",
    }  # fmt: skip
    clean, errors = validate_retro("mh1", values, TODAY)
    assert set(errors) == {"consent_reason", "info_other"}
    assert clean["priority"] == "within_2h" and clean["contact_phone"] == "+441632960123"
    _, errors = validate_retro("mh1", {}, TODAY)
    assert errors["subject.last_name"] == "This is required." and "ethnicity" not in errors


PDP_INTAKE = [
    "behaviour", "risk_nature", "at_risk", "risk_increases", "risk_reduces",
    "serious_harm_likely", "powers", "hr_a", "hr_b", "hr_c", "hr_d", "hr_e", "hr_e_details",
    "hr_f", "other_agencies",
]  # fmt: skip


def test_the_pdp_questions_are_asked_only_for_the_pdp_form() -> None:
    """S4 App8: nature of risk, the powers, tests (a)–(f) with details for (e), other agencies."""
    context = FormContext()
    pdp = {"form": "pdp", "hr_e": "yes"}
    asked = [f.key for f in SPEC if f.key in PDP_INTAKE and f.applies(pdp, context)]
    assert asked == PDP_INTAKE
    assert not [f.key for f in SPEC if f.key in PDP_INTAKE and f.applies({"form": "mh1"}, context)]
    assert not field_by_key(SPEC, "hr_e_details").applies({"form": "pdp", "hr_e": "no"}, context)
    assert "mopi" not in [c.key for c in field_by_key(SPEC, "powers").choices], "police only"


def test_the_pdp_form_is_built_from_the_intake_questions_and_prefilled_by_them() -> None:
    answers = {
        "form": "pdp",
        "risk_nature": "Threats with a blade",
        "powers": ["cda_s115"],
        "hr_e": "yes",
        "hr_e_details": "Only the ward team is told",
    }
    fields = {f.key: f for f in retro_fields("pdp", answers)}
    assert set(PDP_INTAKE) <= set(fields)
    assert fields["risk_nature"].value == "Threats with a blade"
    assert fields["powers"].value == ("cda_s115",)
    assert fields["hr_e_details"].value == "Only the ward team is told"
    assert "mopi" in [c.key for c in fields["powers"].choices], "police may cite MoPI on the form"
    labels = {f.key: f.label for f in SPEC}
    assert all(fields[k].label == labels[k] for k in PDP_INTAKE), "one definition"


def test_an_organisation_offers_only_its_forms() -> None:
    from flows.forms import resolve

    spec = resolve(SPEC, FormContext(forms=("pdp",)))
    assert [c.key for c in field_by_key(spec, "form").choices] == ["pdp"]
