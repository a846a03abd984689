"""The subject-access blind index key and its normalisation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from store.blind_index import BlindIndex, load_index, normalise_name
from store.crypto import KeyConfigError, generate_key


def test_names_match_whatever_the_case_accents_and_punctuation() -> None:
    assert normalise_name("O'Brien-Smith") == normalise_name("obrien smith") == "obriensmith"
    assert normalise_name("Zoë") == normalise_name("ZOE")
    index = BlindIndex.from_string(generate_key())
    assert index.digest("O’Brien", "1980-05-03") == index.digest("o brien ", "1980-05-03")
    assert index.digest("O'Brien", "1980-05-03") != index.digest("O'Brien", "1980-05-04")


def test_a_partial_date_of_birth_is_not_indexed() -> None:
    index = BlindIndex.from_string(generate_key())
    assert index.of_request({"answers": {"subject.last_name": "X", "subject.dob": "1980"}}) == []
    assert (
        len(index.of_request({"answers": {"subject.last_name": "X", "subject.dob": "1980-05-03"}}))
        == 1
    )


def test_production_needs_the_index_key(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="OOHBOT_INDEX_KEY is not set"):
        load_index({}, tmp_path, "production")
    with pytest.raises(KeyConfigError, match="OOHBOT_INDEX_KEY"):
        load_index({"OOHBOT_INDEX_KEY": "c2hvcnQ="}, tmp_path, "production")
    key = generate_key()
    configured = load_index({"OOHBOT_INDEX_KEY": key}, tmp_path, "production")
    assert configured.digest("A", "1980-05-03") == BlindIndex.from_string(key).digest(
        "A", "1980-05-03"
    )


def test_development_generates_then_reuses_a_private_index_key(tmp_path: Path) -> None:
    first = load_index({}, tmp_path, "development")
    path = tmp_path / "index.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_index({}, tmp_path, "development")
    assert first.digest("A", "1980-05-03") == again.digest("A", "1980-05-03")
