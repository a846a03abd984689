"""Parsers for typed answers: each returns the normalised value or raises ``InvalidAnswer``.

Every message says what was wrong and gives an example, because the person reading it is on a
phone in the middle of the night. Nothing here logs or echoes long input back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from flows import matching
from flows.errors import InvalidInput
from flows.messages import Choice

if TYPE_CHECKING:  # phonenumbers loads with the first phone number (about 1 MiB of code)
    import phonenumbers

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
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_SECTOR = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ([0-9])$")
_NAME_PUNCTUATION = frozenset(" '’‘-.")
DATE_EXAMPLE = "for example 3/5/1980 or 3 May 1980"
DOB_EXAMPLE = (
    "for example 3/5/1980. If you do not know it, type their rough age (about 40), the year "
    "(1980) or unknown"
)
UNKNOWN = "unknown"
_UNKNOWN_WORDS = frozenset(
    {"unknown", "not known", "skip", "don't know", "dont know", "do not know", "n/k", "nk", "?"}
)
_APPROX = r"(?:about|around|approx\.?|approximately|roughly|circa|c\.?|~|aged?|aged about)"
_AGE = re.compile(
    rf"^(?:{_APPROX}\s*)?(\d{{1,3}})\s*(?:-?ish)?\s*(?:years?(?: old)?|yrs?(?: old)?|y/?o)?$"
)
_YEAR = re.compile(rf"^(?:born\s+(?:in\s+)?)?(?:{_APPROX}\s*)?(\d{{4}})$")
_MONTH_YEAR = re.compile(r"^(?:([a-z]+)\.?,?|(\d{1,2})\s*[/\-.])\s*(\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_PAREN = re.compile(r"\([^)]*\)")
PHONE_EXAMPLE = "for example 01632 960123 or 07700 900123"
# Ofcom's ranges for drama and training: never issued, so never "valid" to libphonenumber,
# yet exactly what the example directory, demonstrations and exercises use.
_DRAMA = re.compile(
    r"^(?:7700900\d{3}|1632960\d{3}|(?:113|114|115|116|117|118|121|131|141|151|161)4960\d{3}"
    r"|2079460\d{3}|1914980\d{3}|2896496\d{3}|2920180\d{3}|8081570\d{3}|9098790\d{3}"
    r"|3069990\d{3})$"
)


class InvalidAnswer(InvalidInput):
    """An answer that cannot be accepted. ``message`` is safe to show to the person who typed it;
    ``kind`` names the check that failed (``date``, ``postcode``, ``choice`` …).

    ``suggestion`` (kind ``did_you_mean``) is the answer the person probably meant — an option
    key, or a list of keys for a multi-choice — to be confirmed before it is used."""

    def __init__(
        self, message: str, kind: str = "invalid", suggestion: str | list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.suggestion = suggestion


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
    """A date of birth: a real date, not in the future, for an age from 0 to 120 — or as much
    as is known. Returns ``1980-05-03``; ``1980-05`` (month and year); ``1980`` (year only);
    ``about 40`` (rough age); or ``unknown``. Each of these, and each as ``display_dob`` shows
    it, parses back to itself."""
    text = _dob_text(raw)
    if text in _UNKNOWN_WORDS:
        return UNKNOWN
    if (match := _AGE.match(text)) and not text.isdigit():  # "40" alone: a mistyped date
        return _rough_age(int(match[1]))
    if match := _YEAR.match(text):
        return _year_of_birth(int(match[1]), today)
    if partial := _month_year(text):
        return _month_of_birth(*partial, today)
    try:
        born = date.fromisoformat(parse_date(text))
    except InvalidAnswer as error:
        raise InvalidAnswer(f"{error.message.rstrip('.')}. {_DOB_HELP}", "date") from None
    _check_born(born, today)
    return born.isoformat()


_DOB_HELP = "If you do not know it, type their rough age (about 40), the year (1980) or unknown."


def _dob_text(raw: str) -> str:
    """Lower case, without notes in brackets or a leading 'not known:' (as shown on a review)."""
    text = " ".join(_PAREN.sub(" ", raw.strip().lower()).split())
    return text.removeprefix("not known:").removeprefix("not known,").strip() or text


def _rough_age(age: int) -> str:
    if age > MAX_AGE:
        raise InvalidAnswer(f"An age of {age} is not possible; {DOB_EXAMPLE}.", "date")
    return f"about {age}"


def _year_of_birth(year: int, today: date) -> str:
    if not today.year - MAX_AGE <= year <= today.year:
        raise InvalidAnswer(
            f"A person born in {year} would be {today.year - year} years old. Please check the "
            f"year; {DOB_EXAMPLE}.",
            "date",
        )
    return str(year)


def _month_year(text: str) -> tuple[int, int] | None:
    """(year, month) from 'May 1980', '5/1980' or '1980-05'."""
    if match := _ISO_MONTH.match(text):
        return int(match[1]), int(match[2])
    match = _MONTH_YEAR.match(text)
    if not match:
        return None
    month = _MONTHS.get(match[1]) if match[1] else int(match[2])
    if month is None:
        raise InvalidAnswer(f"I do not know the month {match[1]!r}; {DATE_EXAMPLE}.", "date")
    return int(match[3]), month


def _month_of_birth(year: int, month: int, today: date) -> str:
    if not 1 <= month <= 12:
        raise InvalidAnswer(f"There is no month {month}; {DOB_EXAMPLE}.", "date")
    _year_of_birth(year, today)
    if (year, month) > (today.year, today.month):
        raise InvalidAnswer(f"That is in the future. Please check the year; {DOB_EXAMPLE}.", "date")
    return f"{year:04d}-{month:02d}"


def _check_born(born: date, today: date) -> None:
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


def display_dob(value: str) -> str:
    """A stored date of birth as a person reads it; approximate ones say so."""
    if value == UNKNOWN:
        return "Not known"
    if value.startswith("about "):
        return f"Not known: {value} years old"
    if re.fullmatch(r"\d{4}", value):
        return f"{value} (day and month not known)"
    if match := re.fullmatch(r"(\d{4})-(\d{2})", value):
        return f"{date(int(match[1]), int(match[2]), 1):%B %Y} (day not known)"
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def parse_postcode(raw: str) -> str:
    """A UK postcode in its standard form (``TD1 4QX``), the part of it that is known (``TD1``
    or ``TD1 4``), or ``NFA`` for no fixed abode."""
    text = raw.strip()
    if text.lower().rstrip(".") in _NFA_WORDS:
        return NFA
    spaced = " ".join(text.upper().split())
    compact = spaced.replace(" ", "")
    if compact == "GIR0AA":
        return "GIR 0AA"
    if match := _POSTCODE.match(compact):
        return f"{match[1]} {match[2]}"
    if match := _SECTOR.match(spaced):
        return f"{match[1]} {match[2]}"
    if _OUTWARD.match(compact):
        return compact
    raise InvalidAnswer(
        "That does not look like a UK postcode. Type it like TD1 4QX, or the part you know "
        "(TD1), or NFA for no fixed abode.",
        "postcode",
    )


def display_postcode(value: str) -> str:
    """A stored postcode as shown: a partial one says so."""
    if value == NFA or _POSTCODE.match(value.replace(" ", "")) or value == "GIR 0AA":
        return value
    return f"{value} (partial postcode)" if value else value


def parse_phone(raw: str) -> str:
    """A UK phone number that can be called (or an international one with ``+``) in E.164 form
    (``+447700900123``). "Valid", not just the right length: ``12345`` and ``0163296`` are
    refused, each with an example of a good number."""
    text = raw.strip()
    if len(text) > 32 or _has_control(text):
        raise InvalidAnswer(
            f"That is not a phone number. Type it with the area code, {PHONE_EXAMPLE}.", "phone"
        )
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        raise InvalidAnswer(
            f"That is not a phone number. Type it with the area code, {PHONE_EXAMPLE}.", "phone"
        ) from None
    if not _callable(number):
        raise InvalidAnswer(_phone_problem(number, sum(c.isdigit() for c in text)), "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _callable(number: phonenumbers.PhoneNumber) -> bool:
    import phonenumbers

    drama = number.country_code == 44 and _DRAMA.match(str(number.national_number))
    return bool(drama) or phonenumbers.is_valid_number(number)


def _phone_problem(number: phonenumbers.PhoneNumber, typed: int) -> str:
    import phonenumbers

    reason = phonenumbers.is_possible_number_with_reason(number)
    uk = number.country_code == 44
    shown = f"{typed} digits"
    if reason == phonenumbers.ValidationResult.TOO_SHORT or (uk and typed < 10):
        problem = f"That number is too short ({shown})."
    elif reason == phonenumbers.ValidationResult.TOO_LONG:
        problem = f"That number is too long ({shown})."
    else:
        problem = "That is not a number in use in the UK."
    advice = "Most UK numbers have 11 digits with the area code" if uk else "Check it"
    return f"{problem} {advice}: {PHONE_EXAMPLE}."


def display_phone(value: str) -> str:
    """A phone number as people in the UK write it (``07700 900123``); others as given."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return value
    if number.country_code != 44:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _options_text(choices: Sequence[Choice]) -> str:
    return "; ".join(f"{i}. {c.label}" for i, c in enumerate(choices, start=1))


def parse_choice(raw: str, choices: Sequence[Choice]) -> str:
    """One option, by its number, key or label (case-insensitive). A near miss for one option
    raises ``InvalidAnswer`` with that option as its ``suggestion`` ("Did you mean …?")."""
    key = matching.exact(raw, choices)
    if key is not None:
        return key
    guess = matching.closest(raw, choices) if matching.guessable(choices) else None
    if guess is not None:
        raise InvalidAnswer(f"Did you mean {guess.label}?", "did_you_mean", guess.key)
    raise InvalidAnswer(
        f"Please choose one of: {_options_text(choices)}. You can type the number.", "choice"
    )


def parse_multi(raw: str | Sequence[str], choices: Sequence[Choice]) -> list[str]:
    """One or more options, comma-separated (``1,3`` or ``weapons, violence``), or a list from
    a checkbox form. Returned in the options' own order, without repeats. Near misses are
    offered back as a ``suggestion`` to confirm, like ``parse_choice``."""
    tokens = [t for t in (re.split(r"[,;&]", raw) if isinstance(raw, str) else raw) if t.strip()]
    if not tokens:
        raise InvalidAnswer(
            f"Please choose at least one of: {_options_text(choices)}. "
            "Type the numbers separated by commas, e.g. 1,3.",
            "choice",
        )
    found = {t: matching.exact(t, choices) for t in tokens}
    guesses = {
        t: guess.key
        for t, key in found.items()
        if key is None and (guess := matching.closest(t, choices)) is not None
    }
    unknown = [t.strip() for t, key in found.items() if key is None and t not in guesses]
    if unknown:
        raise InvalidAnswer(
            f"{unknown[0][:40]!r} is not one of the options: {_options_text(choices)}. "
            "Type the numbers separated by commas, e.g. 1,3.",
            "choice",
        )
    keys = {key for key in found.values() if key is not None} | set(guesses.values())
    ordered = [c.key for c in choices if c.key in keys]
    if guesses:
        labels = ", ".join(c.label for c in choices if c.key in keys)
        raise InvalidAnswer(f"Did you mean {labels}?", "did_you_mean", ordered)
    return ordered


def parse_code(raw: str) -> str:
    """A one-time code: six digits (spaces allowed)."""
    code = re.sub(r"\s+", "", raw)
    if not re.fullmatch(r"\d{6}", code):
        raise InvalidAnswer("The code is the 6 digits shown in your authenticator app.", "code")
    return code
