"""Answer parsers: UK dates, postcodes, phone numbers, names, choices (with property tests)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import forms
from flows import validators as v
from flows.messages import Choice

TODAY = date(2026, 11, 21)
OPTIONS = (
    Choice("weapons", "Weapons"),
    Choice("violence", "Violence"),
    Choice("risk_to_staff", "Risk to staff"),
)


@pytest.mark.parametrize(
    "text",
    [
        "3/5/1980",
        "03-05-1980",
        "3.5.1980",
        "3 May 1980",
        "3rd May 1980",
        "1980-05-03",
        "3 may 1980",
    ],
)
def test_uk_day_first_dates_become_iso(text: str) -> None:
    assert v.parse_date(text) == "1980-05-03"


@pytest.mark.parametrize(
    ("text", "why"),
    [("31/2/1980", "no such date"), ("3/5/80", "year in full"), ("3 Mai 1980", "month")],
)
def test_bad_dates_say_what_is_wrong_with_an_example(text: str, why: str) -> None:
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_date(text)
    assert why in error.value.message
    assert "3/5/1980" in error.value.message
    assert error.value.kind == "date"


@pytest.mark.parametrize(
    ("text", "stored", "shown"),
    [
        ("unknown", "unknown", "Not known"),
        ("skip", "unknown", "Not known"),
        ("Don't know", "unknown", "Not known"),
        ("about 40", "about 40", "Not known: about 40 years old"),
        ("40ish", "about 40", "Not known: about 40 years old"),
        ("aged about 40", "about 40", "Not known: about 40 years old"),
        ("approx. 40 years old", "about 40", "Not known: about 40 years old"),
        ("1980", "1980", "1980 (day and month not known)"),
        ("born in 1980", "1980", "1980 (day and month not known)"),
        ("May 1980", "1980-05", "May 1980 (day not known)"),
        ("5/1980", "1980-05", "May 1980 (day not known)"),
        ("3/5/1980", "1980-05-03", "03/05/1980"),
    ],
)
def test_unknown_and_approximate_dates_of_birth_are_accepted_and_shown_as_such(
    text: str, stored: str, shown: str
) -> None:
    """The protocol's forms take what is known (issue 16: skip, unknown, about 40 refused)."""
    assert v.parse_dob(text, TODAY) == stored
    assert v.display_dob(stored) == shown
    assert v.parse_dob(shown, TODAY) == stored, "what the review shows reads back the same"


@pytest.mark.parametrize(
    ("text", "why"),
    [("about 130", "not possible"), ("1890", "136 years"), ("12/2026", "future"), ("40", "date")],
)
def test_impossible_approximate_dates_of_birth_are_refused(text: str, why: str) -> None:
    with pytest.raises(v.InvalidAnswer, match=why) as error:
        v.parse_dob(text, TODAY)
    assert "about 40" in error.value.message, "the message says how to give a rough age"


@given(st.integers(min_value=0, max_value=120), st.sampled_from(["about {}", "{}ish", "aged {}"]))
def test_any_rough_age_round_trips(age: int, shape: str) -> None:
    stored = v.parse_dob(shape.format(age), TODAY)
    assert stored == f"about {age}"
    assert v.parse_dob(v.display_dob(stored), TODAY) == stored


@given(st.dates(min_value=date(1906, 11, 22), max_value=TODAY))
def test_partial_dates_of_birth_round_trip(day: date) -> None:
    for text, stored in (
        (day.strftime("%B %Y"), f"{day.year}-{day.month:02d}"),
        (str(day.year), str(day.year)),
    ):
        assert v.parse_dob(text, TODAY) == stored
        assert v.parse_dob(v.display_dob(stored), TODAY) == stored


def test_a_date_of_birth_cannot_be_in_the_future_or_implausibly_old() -> None:
    assert v.parse_dob("21/11/2026", TODAY) == "2026-11-21"
    with pytest.raises(v.InvalidAnswer, match="future"):
        v.parse_dob("22/11/2026", TODAY)
    with pytest.raises(v.InvalidAnswer, match="121 years"):
        v.parse_dob("1/1/1905", TODAY)


@given(st.dates(min_value=date(1906, 11, 22), max_value=TODAY))
def test_dates_round_trip_in_every_accepted_shape(day: date) -> None:
    for text in (
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        day.strftime("%d %B %Y"),
        day.isoformat(),
    ):
        assert v.parse_dob(text, TODAY) == day.isoformat()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("td1 4qx", "TD1 4QX"),
        ("TD14QX", "TD1 4QX"),
        ("  ec1a  1bb ", "EC1A 1BB"),
        ("no fixed abode", "NFA"),
        ("NFA", "NFA"),
        ("td1", "TD1"),
        ("td1 4", "TD1 4"),
        (" ec1a ", "EC1A"),
    ],
)
def test_postcodes_are_normalised(text: str, expected: str) -> None:
    assert v.parse_postcode(text) == expected


def test_a_partial_postcode_is_accepted_and_shown_as_partial() -> None:
    """Often only the district is known at 3 a.m. (issue 16: ``TD1`` was refused)."""
    assert v.display_postcode(v.parse_postcode("TD1")) == "TD1 (partial postcode)"
    assert v.display_postcode(v.parse_postcode("td1 4qx")) == "TD1 4QX"
    assert v.display_postcode("NFA") == "NFA"


@given(
    st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]?", fullmatch=True),
    st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True),
)
def test_postcodes_whole_or_partial_parse_back_to_themselves(outward: str, inward: str) -> None:
    for text in (f"{outward} {inward}", outward, f"{outward} {inward[0]}"):
        stored = v.parse_postcode(text.lower())
        assert stored == text
        assert v.parse_postcode(stored) == stored


@pytest.mark.parametrize("text", ["12345", "TD", "QQ1 4QX!", "not known"])
def test_bad_postcodes_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(v.InvalidAnswer, match="TD1 4QX"):
        v.parse_postcode(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07700 900123", "+447700900123"),
        ("01632 960123", "+441632960123"),
        ("+44 20 7946 0000", "+442079460000"),
    ],
)
def test_uk_phone_numbers_become_e164(text: str, expected: str) -> None:
    assert v.parse_phone(text) == expected


@pytest.mark.parametrize(
    "text", ["123", "call me", "0770090012399999", "12345", "0163296", "01234 56789"]
)
def test_bad_phone_numbers_are_refused(text: str) -> None:
    with pytest.raises(v.InvalidAnswer, match="01632 960123"):
        v.parse_phone(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("12345", "too short (5 digits)"),
        ("0163296", "too short (7 digits)"),
        ("01234 56789", "not a number in use"),
    ],
)
def test_possible_but_invalid_numbers_say_why(text: str, why: str) -> None:
    """``12345`` and ``0163296`` have a possible shape but cannot be called (issue 16)."""
    with pytest.raises(v.InvalidAnswer, match=re.escape(why)):
        v.parse_phone(text)


def test_the_example_in_every_phone_message_is_itself_accepted() -> None:
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_phone("12345")
    examples = re.findall(r"0\d{4} \d{6}", error.value.message)
    assert examples and all(v.parse_phone(e) for e in examples)


@given(st.from_regex(r"07[45789][0-9]{8}", fullmatch=True))
def test_valid_uk_mobiles_pass_and_display_as_written_in_the_uk(text: str) -> None:
    import phonenumbers

    number = phonenumbers.parse(text, "GB")
    if not phonenumbers.is_valid_number(number):
        with pytest.raises(v.InvalidAnswer):
            v.parse_phone(text)
        return
    stored = v.parse_phone(text)
    assert stored == "+44" + text[1:]
    assert v.display_phone(stored).replace(" ", "") == text


@given(st.integers(min_value=0, max_value=999))
def test_ofcom_drama_numbers_are_accepted_for_training(n: int) -> None:
    assert v.parse_phone(f"07700 900{n:03d}") == f"+447700900{n:03d}"
    assert v.parse_phone(f"01632 960{n:03d}") == f"+441632960{n:03d}"


def test_phones_display_the_uk_way() -> None:
    assert v.display_phone("+447700900123") == "07700 900123"
    assert v.display_phone("+33142685300") == "+33 1 42 68 53 00"


@pytest.mark.parametrize("name", ["O'Brien", "Anne-Marie", "Zoë", "Nguyễn Thị", "St. John"])
def test_real_names_are_accepted(name: str) -> None:
    assert v.parse_name(name) == name


@pytest.mark.parametrize("name", ["R2D2", "Bob\x00", "<b>x</b>", "'-'"])
def test_names_with_digits_symbols_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(v.InvalidAnswer):
        v.parse_name(name)


def test_length_caps_say_the_limit() -> None:
    with pytest.raises(v.InvalidAnswer, match="under 10"):
        v.parse_text("x" * 11, max_len=10)


def test_choices_by_number_key_or_label() -> None:
    assert v.parse_choice("2", OPTIONS) == "violence"
    assert v.parse_choice("RISK_TO_STAFF", OPTIONS) == "risk_to_staff"
    assert v.parse_choice("risk to staff", OPTIONS) == "risk_to_staff"


def test_an_unknown_choice_lists_the_valid_options() -> None:
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_choice("4", OPTIONS)
    assert "1. Weapons" in error.value.message and "3. Risk to staff" in error.value.message


def test_multi_choice_comma_separated_or_from_a_form() -> None:
    assert v.parse_multi("1,3", OPTIONS) == ["weapons", "risk_to_staff"]
    assert v.parse_multi("violence, weapons, 1", OPTIONS) == ["weapons", "violence"]
    assert v.parse_multi(["violence"], OPTIONS) == ["violence"]
    with pytest.raises(v.InvalidAnswer, match="'knives' is not one of"):
        v.parse_multi("weapons, knives", OPTIONS)
    with pytest.raises(v.InvalidAnswer, match="at least one"):
        v.parse_multi(" , ", OPTIONS)


@given(st.sampled_from(OPTIONS), st.sampled_from(["number", "key", "label"]), st.booleans())
def test_any_option_is_found_by_number_key_or_label(choice: Choice, by: str, upper: bool) -> None:
    text = {
        "number": str(OPTIONS.index(choice) + 1),
        "key": choice.key,
        "label": choice.label,
    }[by]
    assert v.parse_choice(text.upper() if upper else text, OPTIONS) == choice.key


@given(st.text(max_size=300))
def test_random_text_never_crashes_a_parser(text: str) -> None:
    parsers: list[Callable[[str], object]] = [
        lambda t: v.parse_date(t),
        lambda t: v.parse_dob(t, TODAY),
        v.parse_postcode,
        v.parse_phone,
        v.parse_name,
        v.parse_text,
        v.parse_code,
        lambda t: v.parse_choice(t, OPTIONS),
        lambda t: v.parse_multi(t, OPTIONS),
    ]
    for parse in parsers:
        try:
            parse(text)
        except v.InvalidAnswer as error:
            assert error.message


COUNCILS = (
    Choice("DPT", "Downland Partnership NHS Trust"),
    Choice("DCC", "Downland County Council"),
    Choice("TBC", "Tidemouth Borough Council"),
)


@pytest.mark.parametrize(
    ("typed", "choices", "meant"),
    [
        ("Tidemuth", COUNCILS, "TBC"),
        ("tidemouth council", COUNCILS, "TBC"),
        ("not sougth", forms.CONSENT, "not_sought"),
        ("sougt and refsued", forms.CONSENT, "refused"),
        ("public saftey", forms.GROUNDS, "public_safety"),
        ("weapns", forms.INFO_REQUIRED, "weapons"),
    ],
)
def test_a_near_miss_is_offered_back_as_did_you_mean(
    typed: str, choices: tuple[Choice, ...], meant: str
) -> None:
    """Typos in choices are matched, but only offered: the person confirms (issue 16)."""
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_choice(typed, choices)
    label = next(c.label for c in choices if c.key == meant)
    assert (error.value.kind, error.value.suggestion) == ("did_you_mean", meant)
    assert error.value.message == f"Did you mean {label}?"


@pytest.mark.parametrize(
    ("typed", "choices"),
    [
        ("Downland", COUNCILS),  # two organisations: no guess
        ("xyzzy", COUNCILS),
        ("noo", forms.EMERGENCY),  # never a guess on a yes/no question
        ("cant wait", forms.URGENT),
        ("rsk", forms.REASON),  # too short to guess
    ],
)
def test_no_guess_when_it_would_be_a_gamble(typed: str, choices: tuple[Choice, ...]) -> None:
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_choice(typed, choices)
    assert error.value.suggestion is None and error.value.kind == "choice"
    assert "1." in error.value.message, "the options are listed instead"


def test_multi_choice_near_misses_are_offered_together() -> None:
    with pytest.raises(v.InvalidAnswer) as error:
        v.parse_multi("violnce, 1", OPTIONS)
    assert error.value.suggestion == ["weapons", "violence"]
    assert error.value.message == "Did you mean Weapons, Violence?"


@given(st.sampled_from(forms.INFO_REQUIRED), st.integers(min_value=0), st.sampled_from("xq"))
def test_one_wrong_letter_in_a_long_label_is_a_did_you_mean_for_that_label(
    choice: Choice, where: int, letter: str
) -> None:
    label = choice.label.lower()
    positions = [i for i, c in enumerate(label) if c.isalpha()]
    i = positions[where % len(positions)]
    typo = label[:i] + letter + label[i + 1 :]
    try:
        key = v.parse_choice(typo, forms.INFO_REQUIRED)
    except v.InvalidAnswer as error:
        assert error.suggestion in (choice.key, None)
        if len(label) >= 10:
            assert error.suggestion == choice.key
    else:
        assert key == choice.key


def test_skip_words() -> None:
    assert v.is_skip(" Skip ") and v.is_skip("n/a") and not v.is_skip("skipper")
