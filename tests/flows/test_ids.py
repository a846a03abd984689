"""Each stable id and request state group is written once, in ``flows/ids.py`` or
``flows/states.py``: every surface names it from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.ids import ActionId, FormId, answer_id, ask_id, form_prefix, input_id

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p for layer in ("flows", "bot", "adapters", "store") for p in (ROOT / layer).rglob("*.py")
]


@pytest.mark.parametrize("literal", [f'"{i.value}"' for i in (*ActionId, *FormId) if ":" in i])
def test_each_id_is_written_in_one_place(literal: str) -> None:
    found = [str(p.relative_to(ROOT)) for p in SOURCES if literal in p.read_text(encoding="utf-8")]
    assert found == ["flows/ids.py"]


def test_the_ids_keep_the_contract() -> None:
    """DESIGN.md: Interface contract."""
    assert ask_id("subject.dob") == "ask:subject.dob"
    assert answer_id("consent", "obtained") == "answer:consent:obtained"
    assert answer_id("grounds") == "answer:grounds"
    assert input_id("spoc:decision", "note") == "decision:note"
    assert form_prefix("retro:submit") == "retro"
    assert f"{ActionId.SPOC_APPROVE}" == "spoc:approve"
