"""The structured decision: what a SPOC weighed, chose and disclosed, as an auditor reads it.

The protocol asks the decision-maker to weigh the duty of confidence against the public
interest (S4 App1 §3.6–§3.11), to confirm Article 8 necessity and proportionality (§3.12,
§8.5) and the minimum necessary (§8.4), to name the lawful power (§4.3), to say whether the
data came from another signatory (App4 §2.5), whether the subject will be told or why not
(protocol-requirements §5.5), whether what is given is fact or opinion (§2.6) and on what
conditions it may be used (§6.3). A decline records its reason (§6.1).

Each item is one input of the ``spoc:decision`` form (``decision:<item>``); which items must
be filled in is local protocol (``policy.decision.required``, defaults following S4). The
validated answers become a ``Decision`` stored (sealed) on the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.ids import FormId
from flows.messages import Choice, FieldKind, Form, FormField

DecisionContext = Literal["approve", "decline"]
Values = Mapping[str, str | list[str]]


class Option(BaseModel):
    """One configurable option: ``key`` is stored, ``label`` is shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    label: str


def _options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(key=k, label=label) for k, label in pairs)


POWERS = _options(
    ("dpa_sch2_3", "Data Protection Act: a Schedule 2 (and 3) condition"),
    ("dpa_s29", "Data Protection Act s29(3): prevention or detection of crime"),
    ("dpa_s35", "Data Protection Act s35: required by law or court order"),
    ("cda_s115", "Crime and Disorder Act 1998 s115"),
    ("mopi", "MoPI: policing purposes (police only; not alone)"),
    ("common_law", "Common law: disclosure aids prevention or detection of crime"),
    ("vital_interests", "Vital interests of the person or another (life or death)"),
    ("statutory", "Another statutory obligation or a court order"),
)
"""Lawful powers named in S4 (protocol-requirements §4.3)."""

PUBLIC_INTEREST = _options(
    ("vital_interests", "Protection of the vital interests of the person (3.10.1)"),
    ("vulnerable", "Protection of vulnerable members of the community (3.10.2)"),
    ("public_safety", "Maintaining public safety (3.10.3)"),
    ("apprehension", "Apprehension of offenders (3.10.4)"),
    ("prevention", "Prevention of crime and disorder (3.10.5)"),
    ("detection", "Detection of crime (3.10.6)"),
    ("justice", "Administration of justice (3.10.7)"),
)
"""Public-interest criteria, S4 App1 §3.10."""

OVERRIDE_QUESTIONS = (
    "3.11.1 Is the intended disclosure proportionate to the intended aim?",
    "3.11.2 What is the vulnerability of those who are at risk?",
    "3.11.3 What is the impact of the disclosure likely to be on the offender?",
    "3.11.4 Is there another equally effective means of achieving the same aim?",
    "3.11.5 Is the disclosure necessary to prevent or detect crime and uphold the rights and "
    "freedoms of the public?",
    "3.11.6 Is the disclosure necessary to protect the public?",
)
"""The public-interest override questions, S4 App1 §3.11."""

DECLINE_REASONS = _options(
    ("threshold_not_met", "The grounds for urgent disclosure are not met"),
    ("not_necessary", "Disclosure is not necessary or not proportionate"),
    ("no_lawful_power", "No lawful power to disclose"),
    ("no_information", "We hold no relevant information"),
    ("not_verified", "The caller or their authority could not be verified"),
    ("other_route", "It should go by another route (office hours or 999)"),
    ("other", "Another reason (say in the note)"),
)

APPROVE_ITEMS = (
    "disclosed",
    "power",
    "public_interest",
    "override",
    "article8",
    "minimum",
    "facts",
    "originator",
    "inform_subject",
    "inform_reason",
    "conditions",
    "note",
)
DECLINE_ITEMS = ("decline_reason", "note")
# S4 asks for every item; the reason the subject is not told is required only when they are
# not (checked with the other answers), so it is not in the list.
DEFAULT_REQUIRED = (
    *(item for item in APPROVE_ITEMS if item not in ("inform_reason", "note")),
    *DECLINE_ITEMS,
)
DEFAULT_CONDITIONS = (
    "Use only for the purpose given in the request (S4 §14.1). Do not pass it to anyone else "
    "without our consent (S4 §14.2)."
)


class DecisionPolicy(BaseModel):
    """``policy.decision`` in app.yaml: the lists offered and which items are required.
    ``inform_reason`` is always required when the subject will not be told."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    powers: tuple[Option, ...] = POWERS
    public_interest: tuple[Option, ...] = PUBLIC_INTEREST
    decline_reasons: tuple[Option, ...] = DECLINE_REASONS
    required: tuple[str, ...] = Field(default=DEFAULT_REQUIRED)
    default_conditions: str = DEFAULT_CONDITIONS
    inform_subject_default: Literal["", "yes", "no"] = Field(
        default="", description="the answer the form starts with (an organisation's norm)"
    )

    def model_post_init(self, context: object, /) -> None:
        unknown = set(self.required) - set(APPROVE_ITEMS) - set(DECLINE_ITEMS)
        if unknown:
            raise ValueError(f"unknown decision items in required: {sorted(unknown)}")


class Decision(BaseModel):
    """A recorded decision. Free text (``note``, ``override``, ``inform_reason``,
    ``conditions``) may name people: the whole record is sealed with the request."""

    outcome: Literal["approved", "declined"]
    note: str = ""
    disclosed: list[str] = Field(default_factory=list)
    power: list[str] = Field(default_factory=list)
    public_interest: list[str] = Field(default_factory=list)
    override: str = ""
    article8: str = ""
    minimum: str = ""
    facts: str = ""
    originator: str = ""
    inform_subject: str = ""
    inform_reason: str = ""
    conditions: str = ""
    decline_reason: str = ""

    def audit_keys(self) -> dict[str, Any]:
        """The chosen option keys (never free text): what the audit entry may carry."""
        keys = self.model_dump(include=_OPTION_ITEMS)
        return {k: v for k, v in keys.items() if v}


_OPTION_ITEMS = {
    "power",
    "public_interest",
    "article8",
    "minimum",
    "facts",
    "originator",
    "inform_subject",
    "decline_reason",
}

CONFIRM = (Choice("yes", "Yes"), Choice("no", "No"))
FACTS = (
    Choice("fact", "Fact"),
    Choice("opinion", "Opinion"),
    Choice("both", "Both: each item says which"),
)
ORIGINATOR = (
    Choice("not_applicable", "Not applicable: none of it came from another signatory"),
    Choice("checked", "Checked: the originator confirmed it is accurate and may be disclosed"),
    Choice("pending", "Pending: asked the originator, not yet confirmed"),
)
INFORM = CONFIRM


@dataclass(frozen=True)
class Item:
    """One input of the decision form."""

    key: str
    label: str
    kind: FieldKind
    choices: tuple[Choice, ...] = ()
    hint: str = ""
    max_len: int = 2000
    missing: str = ""


def _choices(options: Sequence[Option]) -> tuple[Choice, ...]:
    return tuple(Choice(o.key, o.label) for o in options)


def items(
    context: DecisionContext, requested: Sequence[Choice], policy: DecisionPolicy
) -> tuple[Item, ...]:
    """The inputs of the approve or decline form, in the order they are shown.
    ``requested``: the categories of information the request asked for."""
    if context == "decline":
        return (
            Item("decline_reason", "Why the request is declined", "choice",
                 _choices(policy.decline_reasons), missing="Select why the request is declined"),
            Item("note", "Note for the record", "long_text",
                 hint="Anything the requester and an auditor should know.",
                 missing="Enter a note for the record"),
        )  # fmt: skip
    return (
        Item("disclosed", "What is disclosed", "multi", tuple(requested),
             missing="Select what is disclosed"),
        Item("power", "Lawful power relied on", "multi", _choices(policy.powers),
             missing="Select the lawful power relied on"),
        Item("public_interest", "Public-interest criteria that apply", "multi",
             _choices(policy.public_interest),
             missing="Select the public-interest criteria that apply"),
        Item("override", "Your answers to the public-interest override questions", "long_text",
             hint=" ".join(OVERRIDE_QUESTIONS),
             missing="Enter your answers to the override questions"),
        Item("article8", "Article 8: is the disclosure necessary and proportionate?", "choice",
             CONFIRM, missing="Select whether the disclosure is necessary and proportionate"),
        Item("minimum", "Is it the minimum information necessary, as general as possible?",
             "choice", CONFIRM, missing="Select whether it is the minimum necessary"),
        Item("facts", "Is what is disclosed fact or opinion?", "choice", FACTS,
             missing="Select whether it is fact or opinion"),
        Item("originator", "Did any of it come from another signatory?", "choice", ORIGINATOR,
             missing="Select the originator check"),
        Item("inform_subject", "Will the person be told it was shared?", "choice", INFORM,
             missing="Select whether the person will be told"),
        Item("inform_reason", "If not, why not", "long_text",
             hint="For example: telling them would increase the risk or prejudice an "
             "investigation.", missing="Enter why the person will not be told"),
        Item("conditions", "Conditions on onward use", "long_text",
             missing="Enter the conditions on onward use"),
        Item("note", "Note for the requester", "long_text",
             hint="What is being disclosed, in words they can act on.",
             missing="Enter a note for the requester"),
    )  # fmt: skip


def requested_choices(categories: Sequence[str], every: Sequence[Choice]) -> tuple[Choice, ...]:
    """The categories the request asked for (all of them when it named none)."""
    asked = [c for c in every if c.key in categories]
    return tuple(asked or every)


def _required(item: Item, policy: DecisionPolicy, values: Values) -> bool:
    if item.key == "inform_reason":
        return _one(values.get("inform_subject")) == "no"
    return item.key in policy.required


def _one(raw: str | list[str] | None) -> str:
    if isinstance(raw, list):
        return raw[0].strip() if raw else ""
    return (raw or "").strip()


def _many(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else raw.split(",")
    return [p.strip() for p in parts if p.strip()]


def _clean(item: Item, raw: str | list[str] | None) -> tuple[str | list[str], str]:
    """(value, error) for one input."""
    keys = {c.key for c in item.choices}
    if item.kind == "multi":
        chosen = _many(raw)
        if any(k not in keys for k in chosen):
            return chosen, "Select only from the options shown"
        return [c.key for c in item.choices if c.key in chosen], ""
    value = _one(raw)
    if item.choices and value and value not in keys:
        return value, "Select one of the options shown"
    if len(value) > item.max_len:
        return value, f"Keep this to {item.max_len} characters or fewer"
    return value, ""


def _rules(context: DecisionContext, clean: Mapping[str, str | list[str]]) -> dict[str, str]:
    """Rules between items: an approval must be necessary, proportionate and minimal."""
    if context != "approve":
        return {}
    errors = {}
    if clean.get("article8") == "no":
        errors["article8"] = (
            "You can approve only a disclosure that is necessary and proportionate. If it is "
            "not, decline the request"
        )
    if clean.get("minimum") == "no":
        errors["minimum"] = "Reduce what is disclosed to the minimum necessary before you approve"
    return errors


def validate(
    context: DecisionContext, shown: Sequence[Item], values: Values, policy: DecisionPolicy
) -> tuple[Decision | None, dict[str, str]]:
    """The decision, or the errors by item key (GOV.UK-style, shown at the field)."""
    clean: dict[str, str | list[str]] = {}
    errors: dict[str, str] = {}
    for item in shown:
        value, error = _clean(item, values.get(item.key))
        if not error and not value and _required(item, policy, values):
            error = item.missing
        clean[item.key] = value
        if error:
            errors[item.key] = error
    for key, error in _rules(context, clean).items():
        errors.setdefault(key, error)
    if errors:
        return None, errors
    outcome = "approved" if context == "approve" else "declined"
    return Decision.model_validate({"outcome": outcome, **clean}), {}


def _starting_values(policy: DecisionPolicy) -> Values:
    start: dict[str, str | list[str]] = {"conditions": policy.default_conditions}
    if policy.inform_subject_default:
        start["inform_subject"] = policy.inform_subject_default
    return start


def form(
    ref: str,
    context: DecisionContext,
    shown: Sequence[Item],
    policy: DecisionPolicy,
    values: Values | None = None,
    errors: Mapping[str, str] | None = None,
) -> Form:
    """The ``spoc:decision`` form; after a failed submission, with what was typed and each
    error beside its input."""
    typed: Values = values if values is not None else _starting_values(policy)
    errors = errors or {}
    fields = tuple(_field(item, typed.get(item.key), errors.get(item.key, ""), policy, typed)
                   for item in shown)  # fmt: skip
    return Form(
        form_id=FormId.DECISION,
        title=f"{context.capitalize()} {ref}",
        ref=ref,
        fields=fields,
        submit_label="Approve" if context == "approve" else "Decline",
        context=context,
        notification=f"Decision on {ref}",
    )


def _field(
    item: Item,
    raw: str | list[str] | None,
    error: str,
    policy: DecisionPolicy,
    values: Values,
) -> FormField:
    value: str | tuple[str, ...] = tuple(_many(raw)) if item.kind == "multi" else _one(raw)
    return FormField(
        key=item.key,
        label=item.label,
        kind=item.kind,
        choices=item.choices,
        value=value,
        # ``inform_reason`` is required only after a No: platforms cannot express that, so it
        # is shown optional and checked here.
        optional=item.key == "inform_reason" or not _required(item, policy, values),
        hint=item.hint,
        error=error,
    )


@dataclass(frozen=True)
class Line:
    """One item of a decision as a person reads it."""

    label: str
    value: str


def lines(decision: Decision, requested: Sequence[Choice], policy: DecisionPolicy) -> list[Line]:
    """The recorded decision in plain words, item by item (empty items left out)."""
    context: DecisionContext = "approve" if decision.outcome == "approved" else "decline"
    shown = items(context, requested, policy)
    out = []
    for item in shown:
        raw = getattr(decision, item.key)
        text = _shown(item, raw)
        if text:
            out.append(Line(item.label, text))
    return out


def _shown(item: Item, raw: str | list[str]) -> str:
    labels = {c.key: c.label for c in item.choices}
    if isinstance(raw, list):
        return "; ".join(labels.get(k, k) for k in raw)
    return labels.get(raw, raw)


__all__ = [
    "DECLINE_REASONS",
    "OVERRIDE_QUESTIONS",
    "POWERS",
    "PUBLIC_INTEREST",
    "Decision",
    "DecisionPolicy",
    "Item",
    "Line",
    "Option",
    "form",
    "items",
    "lines",
    "requested_choices",
    "validate",
]
