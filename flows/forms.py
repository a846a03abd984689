"""The form spec, defined once as data: it drives the conversation's questions and states, the
validation of each answer, the review summary and the retrospective MH1/PDP forms.

Keys and option keys are public (DESIGN.md, "Form field keys"); labels follow the protocol's
wording: urgency grounds from S4 App4 §2.4.1–2.4.5, information categories and consent options
from Form MH1 (S4 App7), the PDP form's powers and human-rights tests from S4 App8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from flows import validators as v
from flows.messages import Choice, FieldKind, FormField, Question
from flows.policy import Policy
from flows.reference import MASTER_REF, parse_reference

SpecKind = Literal[
    "text",
    "long_text",
    "name",
    "date",
    "dob",
    "choice",
    "multi",
    "phone",
    "postcode",
    "code",
    "reference",
]
ContextRule = Literal["", "office_hours", "totp", "several_orgs", "child_protection"]
Answer = str | list[str]
Condition = Callable[[Mapping[str, Any]], bool]

YES_NO = (Choice("yes", "Yes"), Choice("no", "No"))
SKIPPED = "(skipped)"
FORM_KINDS: dict[SpecKind, FieldKind] = {
    "text": "text",
    "long_text": "long_text",
    "name": "text",
    "date": "date",
    "dob": "date",
    "choice": "choice",
    "multi": "multi",
    "phone": "phone",
    "postcode": "postcode",
    "code": "text",
    "reference": "text",
}


@dataclass(frozen=True)
class FormContext:
    """What the conditions that depend on who is asking, and when, need to know."""

    in_office_hours: bool = False
    ask_in_hours: bool = True
    has_totp: bool = False
    organisations: tuple[Choice, ...] = ()
    ask_child_protection: bool = False
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """One question. ``condition`` looks at earlier answers; ``context_rule`` at the caller and
    the time (office hours, a one-time-code secret, acting for several organisations); ``form``
    names the form kind whose own question it is (asked only when that form was chosen)."""

    key: str
    kind: SpecKind
    label: str
    prompt: str
    help: str
    optional: bool = False
    choices: tuple[Choice, ...] = ()
    condition: Condition | None = None
    context_rule: ContextRule = ""
    max_len: int = 200
    in_summary: bool = True
    hint: str = ""
    form: str = ""

    @property
    def multi(self) -> bool:
        return self.kind == "multi"

    @property
    def form_kind(self) -> FieldKind:
        return FORM_KINDS[self.kind]

    def applies(self, answers: Mapping[str, Any], context: FormContext) -> bool:
        """Whether this question is asked, given the answers so far and the caller."""
        if not self.asked_for(answers):
            return False
        return _context_allows(self.context_rule, context)

    def asked_for(self, answers: Mapping[str, Any]) -> bool:
        """Whether the answers so far call for this question (its form and its condition)."""
        if self.form and answers.get("form") != self.form:
            return False
        return self.condition is None or self.condition(answers)

    def gates(self) -> frozenset[object]:
        """What decides whether it is asked: its form, condition and context rule (questions
        with the same gate are asked together or not at all)."""
        found: set[object] = {("form", self.form)} if self.form else set()
        found |= {g for g in (self.condition, self.context_rule) if g}
        return frozenset(found)

    def parse(self, raw: str | Sequence[str], today: date) -> Answer:
        """The normalised answer, ``""`` for a skipped optional field; raises ``InvalidAnswer``."""
        if isinstance(raw, str) and self.optional and v.is_skip(raw):
            return ""
        if not isinstance(raw, str) and self.kind != "multi":
            raw = raw[0] if len(raw) == 1 else ",".join(raw)
        return _PARSERS[self.kind](self, raw, today)

    def question(self) -> Question:
        """The prompt as a neutral ``Question`` (buttons for choices)."""
        hint = self.hint or ("Type skip if you do not know." if self.optional else "")
        if self.multi:
            hint = "Choose all that apply: type the numbers separated by commas, e.g. 1,3."
        return Question(self.key, self.prompt, self.choices, self.multi, hint)

    def display(self, value: Any) -> str:
        """An answer as a person reads it: labels for options, UK formats for dates/phones."""
        if value in ("", None, []):
            return SKIPPED
        labels = {c.key: c.label for c in self.choices}
        if isinstance(value, list):
            return ", ".join(labels.get(str(k), str(k)) for k in value)
        return _display_scalar(self.kind, labels.get(str(value), str(value)))


def _context_allows(rule: ContextRule, context: FormContext) -> bool:
    if rule == "office_hours":
        return context.in_office_hours and context.ask_in_hours
    if rule == "totp":
        return context.has_totp
    if rule == "several_orgs":
        return len(context.organisations) > 1
    if rule == "child_protection":
        return context.ask_child_protection
    return True


def _display_scalar(kind: SpecKind, value: str) -> str:
    if kind in ("date", "dob"):
        return v.display_dob(value)
    if kind == "phone":
        return v.display_phone(value)
    if kind == "postcode":
        return v.display_postcode(value)
    return value


Parser = Callable[[FieldSpec, Any, date], Answer]
_PARSERS: dict[str, Parser] = {
    "text": lambda f, raw, _: v.parse_text(raw, f.max_len),
    "long_text": lambda f, raw, _: v.parse_text(raw, f.max_len, multiline=True),
    "name": lambda f, raw, _: v.parse_name(raw, f.max_len),
    "date": lambda _f, raw, _: v.parse_date(raw),
    "dob": lambda _f, raw, today: v.parse_dob(raw, today),
    "choice": lambda f, raw, _: v.parse_choice(raw, f.choices),
    "multi": lambda f, raw, _: v.parse_multi(raw, f.choices),
    "phone": lambda _f, raw, _: v.parse_phone(raw),
    "postcode": lambda _f, raw, _: v.parse_postcode(raw),
    "code": lambda _f, raw, _: v.parse_code(raw),
    "reference": lambda _f, raw, _: parse_reference(raw),
}

# --- option lists (keys are public; labels follow the protocol) -------------------------------

GROUNDS = (
    Choice("health_threat", "A real threat to the health of the person (2.4.1)"),
    Choice("injury_prevention", "Needed to prevent likely injury to the person (2.4.2)"),
    Choice(
        "vulnerable_protection", "Needed to protect vulnerable members of the community (2.4.3)"
    ),
    Choice("public_safety", "Needed for maintaining public safety (2.4.4)"),
    Choice("offender_apprehension", "Needed for the apprehension of offenders (2.4.5)"),
)
INFO_REQUIRED = (
    Choice("convictions", "Previous convictions, warnings and cautions"),
    Choice("arrest_circumstances", "Circumstances of arrest"),
    Choice("weapons", "Weapons"),
    Choice("violence", "Violence"),
    Choice("drugs_alcohol", "Drug or alcohol use and risks"),
    Choice("risk_to_children", "Risk to children"),
    Choice("risk_to_vulnerable_adults", "Risk to vulnerable adults"),
    Choice("sexual_behaviour", "Risk of inappropriate sexual behaviour"),
    Choice("risk_to_staff", "Risk to staff"),
    Choice("other", "Any other risks"),
)
CONSENT = (
    Choice("obtained", "Sought and obtained"),
    Choice("refused", "Sought and refused"),
    Choice("not_sought", "Not sought"),
)
REASON = (Choice("risk", "Risk"), Choice("harm", "Harm"))
FORMS = (
    Choice("mh1", "Form MH1 (mental health)"),
    Choice("pdp", "PDP form (potentially dangerous person)"),
)
REVIEW = (
    Choice("submit", "Send the request"),
    Choice("edit", "Change an answer"),
    Choice("cancel", "Cancel and discard"),
)
EMERGENCY = (Choice("yes", "Yes, someone is in danger now"), Choice("no", "No"))
URGENT = (Choice("yes", "Yes, it cannot wait"), Choice("no", "No, it can wait"))
CHILD = (Choice("yes", "Yes, a specific child"), Choice("no", "No"))


def _other_chosen(answers: Mapping[str, Any]) -> bool:
    """other risks chosen"""
    return "other" in (answers.get("info_required") or [])


def _consent_not_obtained(answers: Mapping[str, Any]) -> bool:
    """consent not obtained"""
    return answers.get("consent") != "obtained"


def _marked_update(answers: Mapping[str, Any]) -> bool:
    """the requester typed update"""
    return "update" in answers


def _is_update(answers: Mapping[str, Any]) -> bool:
    """an update of an earlier request"""
    return answers.get("update") == "yes"


def _update_fields() -> list[FieldSpec]:
    """MH1 "Update of previous information?" and its "Master unique reference" (S4 App7, App10).
    Not asked of everyone: typing ``update`` marks the draft as an update (the answer is then
    on the review, where it can be changed), and the master reference is asked."""
    return [
        FieldSpec(
            "update", "choice", "Update of previous information",
            "Is this an update of an earlier request?",
            "An update gives new information about a request already made, under its master "
            "reference.",
            choices=YES_NO, condition=_marked_update,
        ),
        FieldSpec(
            MASTER_REF, "reference", "Master reference",
            "What is the master reference of the earlier request? For example DPT/17/2026.",
            "The reference the earlier request was given when it was sent. It must be a "
            "request from your organisation.",
            condition=_is_update,
        ),
    ]  # fmt: skip


def _triage_fields() -> list[FieldSpec]:
    return [
        FieldSpec(
            "emergency", "choice", "Immediate danger",
            "First: is anyone in immediate danger right now?",
            "If someone is at immediate risk, this is an emergency for the police control "
            "room, not for this service.",
            choices=EMERGENCY, in_summary=False,
        ),
        FieldSpec(
            "verify.code", "code", "Verification code",
            "Please type the 6-digit code from your authenticator app.",
            "This confirms it is really you. The code changes every 30 seconds.",
            context_rule="totp", in_summary=False,
        ),
        FieldSpec(
            "urgent_in_hours", "choice", "Cannot wait for office hours",
            "It is office hours, when requests normally go by the usual route. "
            "Is this too urgent to wait for that?",
            "During office hours the police nominated officer handles requests sent on Form "
            "MH1 or the PDP form. Use this service only if the request cannot wait.",
            choices=URGENT, context_rule="office_hours", in_summary=False,
        ),
        FieldSpec(
            "child_protection", "choice", "About a specific child",
            "Is your concern about a specific child at risk of significant harm?",
            "Concerns about a specific child go through child-protection procedures, not "
            "this route.",
            choices=CHILD, context_rule="child_protection", in_summary=False,
        ),
        FieldSpec(
            "on_behalf_of", "choice", "On behalf of",
            "Which organisation are you asking for?",
            "Out of hours your organisation may act for others it covers. Choose the one "
            "this request is for.",
            context_rule="several_orgs",
        ),
        FieldSpec(
            "form", "choice", "Form",
            "Which form will back up this request?",
            "MH1 is for mental-health requests. The PDP form is for a potentially dangerous "
            "person: someone not in a MAPPA category whose behaviour suggests a present "
            "likelihood of serious harm.",
            choices=FORMS,
        ),
    ]  # fmt: skip


def _subject_fields() -> list[FieldSpec]:
    return [
        FieldSpec(
            "subject.last_name", "name", "Last name",
            "What is the person's last (family) name?",
            "The name as your records hold it. Apostrophes, hyphens and accents are fine.",
            max_len=80,
        ),
        FieldSpec(
            "subject.first_names", "name", "First names",
            "And their first name or names?", "All first names you know of.", max_len=120,
        ),
        FieldSpec(
            "subject.alias", "text", "Alias",
            "Do they use any other name or alias?",
            "Any other names they are known by.", optional=True, max_len=120,
        ),
        FieldSpec(
            "subject.dob", "dob", "Date of birth",
            "What is their date of birth? For example 3/5/1980.",
            "Day first: 3/5/1980, 3 May 1980 or 1980-05-03. If you know only part of it, type "
            "what you know: May 1980, 1980, or their rough age (about 40). If nothing is "
            "known, type unknown.",
            hint="Not sure? Type their rough age (about 40), the year (1980) or unknown.",
        ),
        FieldSpec(
            "subject.place_of_birth", "name", "Place of birth",
            "Where were they born (town or country)?",
            "Helps the police find the right person.", optional=True, max_len=80,
        ),
        FieldSpec(
            "subject.address", "text", "Address",
            "What is their address, or last known address?",
            "Street and town. The postcode comes next.", optional=True, max_len=200,
        ),
        FieldSpec(
            "subject.postcode", "postcode", "Postcode",
            "Their postcode? Type NFA if they have no fixed abode.",
            "For example TD1 4QX. If you know only the first part, type that (TD1). NFA means "
            "no fixed abode.", optional=True,
            hint="Only know the first part? Type that (TD1). Type skip if you do not know.",
        ),
    ]  # fmt: skip


def _request_fields(policy: Policy) -> list[FieldSpec]:
    bases = tuple(Choice(c.key, c.label) for c in policy.lawful_bases)
    return [
        FieldSpec(
            "reason", "choice", "Reason", "Is the request about risk or harm?",
            "Form MH1 asks whether the reason is risk (something may happen) or harm "
            "(something has happened).",
            choices=REASON,
        ),
        FieldSpec(
            "grounds", "multi", "Urgency grounds", "Why can this not wait for a form?",
            "The protocol allows an answer within 2 hours, before a form, on these grounds "
            "(S4 Appendix 4, 2.4.1 to 2.4.5).",
            choices=GROUNDS,
        ),
        FieldSpec(
            "info_required", "multi", "Information required", "What do you need to know?",
            "The information categories on Form MH1. Ask only for what you need.",
            choices=INFO_REQUIRED,
        ),
        FieldSpec(
            "info_other", "long_text", "Other risks", "What other risks do you need to know about?",
            "You chose 'Any other risks': say briefly what they are.",
            condition=_other_chosen, max_len=500,
        ),
        FieldSpec(
            "consent", "choice", "Consent", "Has the person's consent been sought?",
            "As on Form MH1: sought and obtained, sought and refused, or not sought.",
            choices=CONSENT,
        ),
        FieldSpec(
            "consent_reason", "long_text", "Reason for going ahead without consent",
            "Why are you going ahead without their consent?",
            "The protocol requires the reasons to be recorded, for example: asking would "
            "increase the risk of harm, or they could not be found in time.",
            condition=_consent_not_obtained, max_len=1000,
        ),
        FieldSpec(
            "lawful_basis", "multi", "Lawful basis", "What is the lawful basis for sharing?",
            "Choose every basis that applies. Ask your information governance lead if unsure.",
            choices=bases,
        ),
        FieldSpec(
            "summary", "long_text", "Summary",
            "In a few sentences: what has happened, and why do you need the information now?",
            "Keep to the facts needed. Say what is fact and what is opinion.", max_len=2000,
        ),
        FieldSpec(
            "contact_phone", "phone", "Call-back number",
            "What number can the police call you back on?",
            "A number you will answer tonight, with the area code: for example 07700 900123 "
            "or 01632 960123.",
            hint="For example 07700 900123.",
        ),
        FieldSpec(
            "review", "choice", "Review", "Is everything in the summary above right?",
            "Send the request, change an answer (type edit and its number, e.g. edit 3), or "
            "cancel.",
            choices=REVIEW, in_summary=False,
            hint="To change an answer, use Change in the summary or type edit and its number "
            "(edit 3).",
        ),
    ]  # fmt: skip


def _proportionate(answers: Mapping[str, Any]) -> bool:
    """(e) is Yes"""
    return answers.get("hr_e") == "yes"


def _pdp_long(key: str, label: str, prompt: str, help: str, optional: bool = False) -> FieldSpec:
    return FieldSpec(
        key, "long_text", label, prompt, help, optional=optional, form="pdp", max_len=2000
    )


def pdp_fields() -> list[FieldSpec]:
    """The PDP form's own questions (S4 App8), defined once: asked at intake when the form is
    PDP, shown on the review and the SPOC's details, and the retrospective PDP form's fields
    (pre-filled from these answers)."""
    tests = [
        FieldSpec(
            key,
            "choice",
            label,
            f"Human-rights test {label}",
            "The PDP form asks whether the disclosure is justified under human rights law, "
            "test by test.",
            choices=YES_NO,
            form="pdp",
        )
        for key, label in HUMAN_RIGHTS
    ]
    return [
        _pdp_long("behaviour", "Nature and pattern of the person's risky behaviour",
                  "PDP form: what is the nature and pattern of the person's risky behaviour?",
                  "What they have done, how often, and whether it is getting worse."),
        _pdp_long("risk_nature", "Nature of risk", "What is the nature of the risk?",
                  "For example violence, sexual harm, harm to children."),
        _pdp_long("at_risk", "Who is at risk (particular individuals, children, vulnerable "
                  "adults)", "Who is at risk?",
                  "Particular individuals, children or vulnerable adults."),
        _pdp_long("risk_increases", "In what circumstances is the risk likely to increase?",
                  "In what circumstances is the risk likely to increase?",
                  "For example mental health, medication, drugs, alcohol, housing, employment "
                  "or relationships."),
        _pdp_long("risk_reduces", "What factors are likely to reduce the risk?",
                  "What factors are likely to reduce the risk?", "Anything that lowers it."),
        FieldSpec(
            "serious_harm_likely", "choice", "In your professional judgement, is there a "
            "present likelihood of the person causing serious harm?",
            "In your professional judgement, is there a present likelihood of the person "
            "causing serious harm?",
            "Serious harm means death or serious personal injury, physical or psychological.",
            choices=YES_NO, form="pdp",
        ),
        FieldSpec(
            "powers", "multi", "Power cited as basis of disclosure (tick any that are valid)",
            "Which powers are the basis of the disclosure?",
            "Tick every power that is valid. MoPI is for police use only.",
            choices=tuple(c for c in POWERS if c.key != "mopi"), form="pdp",
        ),
        *tests[:5],  # (a)–(e), then the details (e) asks for, then (f)
        FieldSpec(
            "hr_e_details", "long_text", "Details of proportionality (needed if (e) is Yes)",
            "You said the disclosure is proportionate: give the details.",
            "Why sharing this, with these people, is in proportion to the risk.",
            condition=_proportionate, form="pdp", max_len=2000,
        ),
        tests[5],
        _pdp_long("other_agencies", "Other agencies who are, or need to be, involved or informed",
                  "Which other agencies are, or need to be, involved or informed?",
                  "Names and contact details. Type skip if none.", optional=True),
    ]  # fmt: skip


def conversation_fields(policy: Policy) -> tuple[FieldSpec, ...]:
    """Every conversation question, in the order asked (a form's own questions only when that
    form was chosen: ``pdp_fields``)."""
    request = _request_fields(policy)
    at = next(i for i, f in enumerate(request) if f.key == "info_other") + 1
    return (
        *_triage_fields(),
        *_update_fields(),
        *_subject_fields(),
        *request[:at],
        *pdp_fields(),
        *request[at:],
    )


def resolve(spec: Sequence[FieldSpec], context: FormContext) -> tuple[FieldSpec, ...]:
    """The spec with the caller's organisations as the ``on_behalf_of`` options, and only the
    forms the caller's organisation uses as the ``form`` options."""
    forms = tuple(c for c in FORMS if c.key in context.forms) if context.forms else FORMS
    return tuple(
        replace(f, choices=context.organisations)
        if f.key == "on_behalf_of"
        else replace(f, choices=forms)
        if f.key == "form"
        else f
        for f in spec
    )


def field_by_key(spec: Sequence[FieldSpec], key: str) -> FieldSpec:
    return next(f for f in spec if f.key == key)


def summary_fields(spec: Sequence[FieldSpec], answers: Mapping[str, Any]) -> list[FieldSpec]:
    """The fields shown on the review, in order: answered, in the summary, still applicable."""
    return [f for f in spec if f.in_summary and f.key in answers and f.asked_for(answers)]


def summary_lines(answers: Mapping[str, Any], spec: Sequence[FieldSpec]) -> list[tuple[str, str]]:
    """(label, answer as shown) for the review summary."""
    return [(f.label, f.display(answers[f.key])) for f in summary_fields(spec, answers)]


# --- retrospective forms (S4 App7 Form MH1 page 1; S4 App8 PDP referral) ---------------------

RetroForm = Literal["mh1", "pdp"]
PRIORITY = (Choice("within_2h", "Within 2 hours"), Choice("within_48h", "Routine within 48 hours"))
ETHNICITY = (
    Choice("white", "White"),
    Choice("mixed", "Mixed"),
    Choice("asian", "Asian or Asian British"),
    Choice("black", "Black or Black British"),
    Choice("chinese_other", "Chinese or other ethnic group"),
)
POWERS = (
    Choice("cda_s115", "Crime and Disorder Act 1998 s115: disclosure to prevent or detect crime"),
    Choice("dpa_s29", "Data Protection Act s29(3): prevention or detection of crime"),
    Choice("mopi", "MoPI, Police Act 1996 (police only; cannot be used alone)"),
    Choice("common_law", "Common law: will disclosure aid prevention or detection of crime?"),
)
HUMAN_RIGHTS = (
    ("hr_a", "(a) Is the disclosure in accordance with the law?"),
    ("hr_b", "(b) Is it in the interests of public safety?"),
    ("hr_c", "(c) Is it for the protection of health and morals?"),
    ("hr_d", "(d) Is it for the protection of the rights and freedoms of others?"),
    ("hr_e", "(e) Is it proportionate in the circumstances?"),
    ("hr_f", "(f) Have the information provider's records been updated to record it?"),
)


def _retro(key: str, kind: SpecKind, label: str, **extra: Any) -> FieldSpec:
    return FieldSpec(key, kind, label, label, "", **extra)


def _retro_subject(spec: Sequence[FieldSpec]) -> list[FieldSpec]:
    keys = ("subject.last_name", "subject.first_names", "subject.alias", "subject.dob")
    return [f for f in spec if f.key in keys]


def mh1_retro_fields(policy: Policy | None = None) -> tuple[FieldSpec, ...]:
    """Form MH1 page 1 (S4 App7), in the form's order."""
    spec = conversation_fields(policy or Policy())
    take = {f.key: f for f in spec}
    return (
        _retro("priority", "choice", "Priority", choices=PRIORITY),
        _retro("update", "choice", "Update of previous information?", choices=YES_NO),
        _retro("master_ref", "text", "Master unique reference (for updates)", optional=True),
        *_retro_subject(spec),
        *(take[k] for k in ("subject.place_of_birth", "subject.address", "subject.postcode")),
        _retro("ethnicity", "choice", "Ethnicity", choices=ETHNICITY, optional=True),
        _retro("distinguishing_marks", "long_text", "Distinguishing marks or unique features",
               optional=True, max_len=500),
        take["reason"],
        replace(take["consent"], label="Consent"),
        replace(take["consent_reason"], label="Reasons for not seeking consent", optional=True),
        take["info_required"],
        replace(take["info_other"], label="Any other risks", optional=True),
        _retro("requested_by", "text", "Requested by (name and designation of authorised "
               "signatory)", max_len=200),
        replace(take["contact_phone"], label="Contact telephone number (include code)"),
    )  # fmt: skip


def pdp_retro_fields(policy: Policy | None = None) -> tuple[FieldSpec, ...]:
    """The PDP referral form (S4 App8), in the form's order."""
    spec = conversation_fields(policy or Policy())
    take = {f.key: f for f in spec}
    # The intake's PDP questions, as form fields: on the written form police may cite MoPI,
    # and the details for (e) are checked against (e) (``_cross_errors``).
    own = [replace(f, condition=None, form="") for f in pdp_fields()]
    retro: dict[str, dict[str, Any]] = {
        "powers": {"choices": POWERS},
        "hr_e_details": {"optional": True},
    }
    return (
        *_retro_subject(spec),
        take["subject.address"],
        _retro("ethnicity", "text", "Ethnicity", optional=True, max_len=80),
        *(replace(f, **retro.get(f.key, {})) for f in own),
    )


def retro_spec(form: RetroForm) -> tuple[FieldSpec, ...]:
    return mh1_retro_fields() if form == "mh1" else pdp_retro_fields()


def _prefill(spec: FieldSpec, value: Any) -> str | tuple[str, ...]:
    if value in (None, ""):
        return ""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    shown = spec.kind in ("dob", "date", "phone")
    return _display_scalar(spec.kind, str(value)) if shown else str(value)


def _defaults(form: RetroForm, answers: Mapping[str, Any], requested_by: str) -> dict[str, Any]:
    """Values the request already gives, keyed by retrospective field."""
    values = {k: v for k, v in answers.items() if k not in ("verify.code", "review")}
    routine = answers.get("urgent_in_hours") == "no"
    values.update(priority="within_48h" if routine else "within_2h", requested_by=requested_by)
    values.setdefault("update", "no")
    if form == "pdp":
        values.setdefault("behaviour", answers.get("summary", ""))
    return values


def retro_fields(
    form: RetroForm, answers: Mapping[str, Any], requested_by: str = ""
) -> tuple[FormField, ...]:
    """The retrospective form's inputs, pre-filled from the request's answers."""
    values = _defaults(form, answers, requested_by)
    return tuple(
        FormField(
            key=f.key,
            label=f.label,
            kind=f.form_kind,
            choices=f.choices,
            value=_prefill(f, values.get(f.key)),
            optional=f.optional,
            hint=f.help,
        )
        for f in retro_spec(form)
    )


def _clean_one(
    spec: FieldSpec, raw: str | list[str] | None, today: date
) -> tuple[Answer | None, str]:
    """(value, "") or (None, error) for one retrospective input."""
    empty = raw is None or (raw.strip() == "" if isinstance(raw, str) else not any(raw))
    if empty:
        return ([] if spec.multi else "", "") if spec.optional else (None, "This is required.")
    assert raw is not None
    try:
        return spec.parse(raw, today), ""
    except v.InvalidAnswer as error:
        return None, error.message


def _cross_errors(form: RetroForm, clean: Mapping[str, Any], police: bool) -> dict[str, str]:
    """Rules between fields: consent reasons, other risks, MoPI, proportionality details."""
    errors: dict[str, str] = {}
    if form == "mh1":
        if clean.get("consent") in ("refused", "not_sought") and not clean.get("consent_reason"):
            errors["consent_reason"] = "Give the reasons consent was not obtained."
        if "other" in (clean.get("info_required") or []) and not clean.get("info_other"):
            errors["info_other"] = "Say what the other risks are."
        return errors
    powers = clean.get("powers") or []
    if "mopi" in powers and not police:
        errors["powers"] = "MoPI is for police use only. Choose another power."
    elif powers == ["mopi"]:
        errors["powers"] = "MoPI cannot be used alone: also cite a statutory or common-law power."
    if clean.get("hr_e") == "yes" and not clean.get("hr_e_details"):
        errors["hr_e_details"] = "You answered Yes to (e): give the details."
    return errors


def validate_retro(
    form: RetroForm,
    values: Mapping[str, str | list[str]],
    today: date,
    *,
    police: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values, errors by field key) for a submitted retrospective form. ``police``: the
    submitter is police (only they may cite MoPI)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in retro_spec(form):
        value, error = _clean_one(spec, values.get(spec.key), today)
        if error:
            errors[spec.key] = error
        else:
            clean[spec.key] = value
    for key, error in _cross_errors(form, clean, police).items():
        errors.setdefault(key, error)
    return clean, errors


__all__ = [
    "FieldSpec",
    "FormContext",
    "conversation_fields",
    "field_by_key",
    "mh1_retro_fields",
    "pdp_retro_fields",
    "resolve",
    "retro_fields",
    "summary_fields",
    "summary_lines",
    "validate_retro",
]
