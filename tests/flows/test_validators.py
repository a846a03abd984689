"""Answer parsers: UK dates, postcodes, phone numbers, names, choices (with property tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    ],
)
def test_postcodes_are_normalised(text: str, expected: str) -> None:
    assert v.parse_postcode(text) == expected


@pytest.mark.parametrize("text", ["12345", "TD1", "QQ1 4QX!", "not known"])
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


@pytest.mark.parametrize("text", ["123", "call me", "0770090012399999"])
def test_bad_phone_numbers_are_refused(text: str) -> None:
    with pytest.raises(v.InvalidAnswer, match="01632 960123"):
        v.parse_phone(text)


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


def test_skip_words() -> None:
    assert v.is_skip(" Skip ") and v.is_skip("n/a") and not v.is_skip("skipper")
