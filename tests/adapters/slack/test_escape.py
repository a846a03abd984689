"""Escaping: no text from a message can become a Slack mention, link or formatting entity."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack import blocks
from adapters.slack.escape import chunks, mrkdwn, mrkdwn_clipped, to_plain
from flows.messages import Card, CardField, Message, Question, Text

ENTITY = re.compile(r"&(amp|lt|gt);")
HOSTILE = st.text(alphabet=st.sampled_from("<>&!@#|amplgt;channel here U123 \n*_~`"), max_size=80)
ANY_TEXT = st.one_of(st.text(max_size=200), HOSTILE)


def _safe(escaped: str) -> bool:
    """No raw < or >, and every & starts one of the three entities."""
    return "<" not in escaped and ">" not in escaped and "&" not in ENTITY.sub("", escaped)


def _mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [str(node["text"])]
        return [t for v in node.values() for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


@given(ANY_TEXT)
def test_escaped_text_has_no_raw_control_characters(text: str) -> None:
    assert _safe(mrkdwn(text))


@given(ANY_TEXT)
def test_what_slack_sends_back_is_what_was_typed(text: str) -> None:
    assert to_plain(mrkdwn(text)) == text


@given(ANY_TEXT, st.integers(min_value=1, max_value=50))
def test_clipping_never_cuts_an_entity_in_half(text: str, limit: int) -> None:
    clipped = mrkdwn_clipped(text, limit)
    assert len(clipped) <= limit and _safe(clipped)


@given(ANY_TEXT, st.integers(min_value=5, max_value=40))
def test_chunks_fit_once_escaped_and_lose_nothing(text: str, limit: int) -> None:
    pieces = chunks(text, limit)
    assert "".join(pieces) == text
    assert all(len(mrkdwn(p)) <= limit for p in pieces)


@given(ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_every_rendered_mrkdwn_is_escaped(title: str, label: str, value: str) -> None:
    messages: list[Message] = [
        Text(value),
        Question("summary", value, hint=label),
        Card("c", title, (CardField(label, value),), status=value),
    ]
    for message in messages:
        for text in _mrkdwn_texts(blocks.render(message)):
            assert _safe(text), text


def test_mentions_and_links_arrive_neutralised() -> None:
    rendered = blocks.render(Text("<!channel> <@U123> <https://evil.example|click>"))
    [text] = _mrkdwn_texts(rendered)
    assert text == "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;"
    assert rendered[0]["text"]["verbatim"] is True


def test_incoming_markup_becomes_plain_text() -> None:
    typed = "<@U123|sam> <!here> <#C1|spoc> <tel:07700900123|07700 900123> <http://x.uk> a &amp; b"
    assert to_plain(typed) == "@sam @here #spoc 07700 900123 http://x.uk a & b"
