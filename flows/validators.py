"""Parsers for typed answers: each returns the normalised value or raises ``InvalidAnswer``.

Every message says what was wrong and gives an example, because the person reading it is on a
phone in the middle of the night. Nothing here logs or echoes long input back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

import phonenumbers

from flows.messages import Choice

SKIP_WORDS = frozenset({"skip", "none", "n/a", "not known", "unknown"})
NFA = "NFA"
_NFA_WORDS = frozenset({"nfa", "no fixed abode", "no fixed address"})
MAX_AGE = 120
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_NUMERIC_DATE = re.compile(r"^(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{2,4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDY_DATE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{2,4})$")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_NAME_PUNCTUATION = frozenset(" '’‘-.")
DATE_EXAMPLE = "for example 3/5/1980 or 3 May 1980"


class InvalidAnswer(ValueError):
    """An answer that cannot be accepted. ``message`` is safe to show to the person who typed it;
    ``kind`` names the check that failed (``date``, ``postcode``, ``choice`` …)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def is_skip(text: str) -> bool:
    """Whether the person chose to skip an optional question."""
    return text.strip().lower() in SKIP_WORDS


def _has_control(text: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\t", "\r"} if allow_newlines else set()
    return any(unicodedata.category(c).startswith("C") and c not in allowed for c in text)


def parse_text(raw: str, max_len: int = 200, *, multiline: bool = False) -> str:
    """Free text: trimmed, not empty, no control characters, at most ``max_len`` characters."""
    text = raw.strip()
    if not text:
        raise InvalidAnswer("I did not get an answer. Please type a reply.", "empty")
    if _has_control(text, allow_newlines=multiline):
        raise InvalidAnswer("That contains characters I cannot store. Please retype it.", "text")
    if len(text) > max_len:
        raise InvalidAnswer(
            f"That is {len(text)} characters; please keep it under {max_len}.", "too_long"
        )
    return text


def parse_name(raw: str, max_len: int = 80) -> str:
    """A person's name or place: letters (any alphabet, with accents), spaces, apostrophes,
    hyphens and full stops — O'Brien, Anne-Marie, Zoë. Digits and symbols are refused."""
    text = " ".join(parse_text(raw, max_len).split())
    for char in text:
        if char.isdigit():
            raise InvalidAnswer(
                "Names cannot contain numbers. Type the name only, e.g. O'Brien.", "name"
            )
        if not (unicodedata.category(char)[0] in "LM" or char in _NAME_PUNCTUATION):
            raise InvalidAnswer(
                f"Names can only use letters, spaces, apostrophes and hyphens (not {char!r}). "
                "For example Anne-Marie O'Brien.",
                "name",
            )
    if not any(unicodedata.category(c)[0] == "L" for c in text):
        raise InvalidAnswer("Please type a name with letters in it, e.g. Zoë.", "name")
    return text


def _year(text: str) -> int:
    if len(text) != 4:
        raise InvalidAnswer(f"Please write the year in full, {DATE_EXAMPLE}.", "date")
    return int(text)


def _split_date(text: str) -> tuple[int, int, int]:
    """(year, month, day) from the accepted UK day-first shapes."""
    if match := _ISO_DATE.match(text):
        return int(match[1]), int(match[2]), int(match[3])
    if match := _NUMERIC_DATE.match(text):
        return _year(match[3]), int(match[2]), int(match[1])
    if match := _WORDY_DATE.match(text):
        month = _MONTHS.get(match[2])
        if month is None:
            raise InvalidAnswer(f"I do not know the month {match[2]!r}; {DATE_EXAMPLE}.", "date")
        return _year(match[3]), month, int(match[1])
    raise InvalidAnswer(
        f"I could not read that as a date. Write it day first, {DATE_EXAMPLE}.", "date"
    )


def parse_date(raw: str) -> str:
    """A UK day-first date (``3/5/1980``, ``03-05-1980``, ``3rd May 1980``, ``1980-05-03``)
    as an ISO string ``1980-05-03``."""
    text = " ".join(raw.strip().lower().split())
    year, month, day = _split_date(text)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise InvalidAnswer(
            f"There is no such date as day {day} of month {month} in {year}; {DATE_EXAMPLE}.",
            "date",
        ) from None


def parse_dob(raw: str, today: date) -> str:
    """A date of birth: a real date, not in the future, for an age from 0 to 120."""
    born = date.fromisoformat(parse_date(raw))
    if born > today:
        raise InvalidAnswer(
            f"That date is in the future. Please check the year; {DATE_EXAMPLE}.", "date"
        )
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age > MAX_AGE:
        raise InvalidAnswer(
            f"That would make the person {age} years old. Please check the year; {DATE_EXAMPLE}.",
            "date",
        )
    return born.isoformat()


def parse_postcode(raw: str) -> str:
    """A UK postcode in its standard form (``TD1 4QX``), or ``NFA`` for no fixed abode."""
    text = raw.strip()
    if text.lower().rstrip(".") in _NFA_WORDS:
        return NFA
    compact = re.sub(r"\s+", "", text).upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = _POSTCODE.match(compact)
    if not match:
        raise InvalidAnswer(
            "That does not look like a UK postcode. Type it like TD1 4QX, or NFA for no fixed "
            "abode.",
            "postcode",
        )
    return f"{match[1]} {match[2]}"


def parse_phone(raw: str) -> str:
    """A UK phone number (or an international one with ``+``) in E.164 form (``+447700900123``)."""
    text = raw.strip()
    example = "Type it with the area code, for example 01632 960123 or 07700 900123."
    if len(text) > 32 or _has_control(text):
        raise InvalidAnswer(f"That is not a phone number. {example}", "phone")
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        raise InvalidAnswer(f"That is not a phone number. {example}", "phone") from None
    # Possible (right length and shape), not "valid": fictional and newly issued ranges must pass.
    if not phonenumbers.is_possible_number(number):
        raise InvalidAnswer(f"That number has the wrong number of digits. {example}", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _options_text(choices: Sequence[Choice]) -> str:
    return "; ".join(f"{i}. {c.label}" for i, c in enumerate(choices, start=1))


def _match_choice(token: str, choices: Sequence[Choice]) -> str | None:
    wanted = " ".join(token.strip().lower().rstrip(".").split())
    if wanted.isdecimal() and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1].key
    for choice in choices:
        if wanted in (choice.key.lower(), choice.label.lower()):
            return choice.key
    return None


def parse_choice(raw: str, choices: Sequence[Choice]) -> str:
    """One option, by its number, key or label (case-insensitive)."""
    key = _match_choice(raw, choices)
    if key is None:
        raise InvalidAnswer(
            f"Please choose one of: {_options_text(choices)}. You can type the number.", "choice"
        )
    return key


def parse_multi(raw: str | Sequence[str], choices: Sequence[Choice]) -> list[str]:
    """One or more options, comma-separated (``1,3`` or ``weapons, violence``), or a list from
    a checkbox form. Returned in the options' own order, without repeats."""
    tokens = [t for t in (raw.split(",") if isinstance(raw, str) else raw) if t.strip()]
    if not tokens:
        raise InvalidAnswer(
            f"Please choose at least one of: {_options_text(choices)}. "
            "Type the numbers separated by commas, e.g. 1,3.",
            "choice",
        )
    keys = {_match_choice(t, choices) for t in tokens}
    if None in keys:
        unknown = next(t.strip() for t in tokens if _match_choice(t, choices) is None)
        raise InvalidAnswer(
            f"{unknown[:40]!r} is not one of the options: {_options_text(choices)}. "
            "Type the numbers separated by commas, e.g. 1,3.",
            "choice",
        )
    return [c.key for c in choices if c.key in keys]


def parse_code(raw: str) -> str:
    """A one-time code: six digits (spaces allowed)."""
    code = re.sub(r"\s+", "", raw)
    if not re.fullmatch(r"\d{6}", code):
        raise InvalidAnswer("The code is the 6 digits shown in your authenticator app.", "code")
    return code
