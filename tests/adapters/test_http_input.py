"""The defensive JSON reader: depth, encoding and syntax problems are ``BadJson``."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.http_input import MAX_DEPTH, BadJson, depth, parse_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_shallow_json_reads_as_json_loads_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert depth(text) <= MAX_DEPTH
    assert parse_json(text.encode()) == json.loads(text)


@given(st.binary(max_size=200))
def test_any_bytes_either_parse_or_raise_bad_json(raw: bytes) -> None:
    with contextlib.suppress(BadJson):
        parse_json(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 33 + b"1" + b"}" * 33,
        b"\xff",
        b"9" * 5000,
        b"{",
    ],
)
def test_bad_bodies_are_bad_json(raw: bytes) -> None:
    with pytest.raises(BadJson):
        parse_json(raw)


def test_brackets_inside_strings_do_not_count() -> None:
    assert depth(json.dumps({"a": "[[[[{{{{", "b": ["\\]]]"]})) == 2
