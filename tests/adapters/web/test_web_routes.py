"""The console's routes: page, identity list, events → Inbound, replies to the right inbox."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.web.sender import CHANNEL_BOX
from flows.messages import Form, FormField, Question, Text
from tests.adapters.web.conftest import Rig, texts

STATIC = Path(__file__).resolve().parents[3] / "adapters" / "web" / "static"


async def test_page_has_the_contract_controls_and_a_strict_policy(rig: Rig) -> None:
    response = await rig.client.get("/")
    assert response.status == 200
    page = await response.text()
    assert 'name="identity"' in page and 'name="message"' in page
    assert "http://" not in page and "https://" not in page  # no CDN
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


async def test_assets_are_served_and_nothing_else(rig: Rig) -> None:
    script = await rig.client.get("/web/app.js")
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert (await rig.client.get("/web/app.css")).status == 200
    assert (await rig.client.get("/web/index.html")).status == 404
    assert (await rig.client.get("/web/..%2Fguard.py")).status == 404


def test_the_page_script_never_parses_markup() -> None:
    script = (STATIC / "app.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "document.write" not in script


async def test_identity_list_comes_from_the_directory(rig: Rig) -> None:
    config = await (await rig.client.get("/web/api/config")).json()
    assert [o["id"] for o in config["officers"]] == ["req", "spoc", "mgr", "old"]
    assert config["officers"][1]["roles"] == ["spoc"]
    assert config["officers"][3]["valid_until"] == "2020-01-01"
    assert config["clock"] == {
        "enabled": True,
        "offset_seconds": 0.0,
        "now": "2026-11-21T02:00:00+00:00",
        "timezone": "Europe/London",
    }


async def test_typed_message_becomes_a_text_inbound(rig: Rig) -> None:
    rig.handler.replies = [Question("emergency", "Is anyone in immediate danger?")]
    data = await rig.event(kind="text", text="hi")
    [inbound] = rig.handler.inbounds
    assert (inbound.platform, inbound.user_id, inbound.tenant) == ("web", "req", "")
    assert (inbound.kind, inbound.text, inbound.conversation) == ("text", "hi", "web:req")
    assert not inbound.in_channel
    assert [e["origin"] for e in data["entries"]] == ["bot"]
    inbox = [e.to_json() for e in rig.sender.entries("req")]
    assert [e["origin"] for e in inbox] == ["me", "bot"]
    assert inbox[1]["message"]["field"] == "emergency"


async def test_choice_click_becomes_an_action_and_echoes_its_label(rig: Rig) -> None:
    await rig.event(kind="action", action="answer:emergency:no", value="no", label="No")
    [inbound] = rig.handler.inbounds
    assert (inbound.kind, inbound.action, inbound.value) == ("action", "answer:emergency:no", "no")
    assert texts([e.to_json() for e in rig.sender.entries("req")]) == ["No"]


async def test_multi_choice_continue_becomes_a_form_with_a_list(rig: Rig) -> None:
    form = {"grounds": ["health_threat", "public_safety"]}
    await rig.event(kind="form", action="answer:grounds", form=form, label="Two")
    [inbound] = rig.handler.inbounds
    assert (inbound.kind, inbound.action) == ("form", "answer:grounds")
    assert inbound.form == form


async def test_form_submission_carries_ref_and_context(rig: Rig) -> None:
    await rig.event(
        kind="form",
        action="spoc:decision",
        form={"note": "Disclosed: weapons marker"},
        form_ref="DPT/01/2026",
        form_context="approve",
        label="Approve",
    )
    [inbound] = rig.handler.inbounds
    assert inbound.action == "spoc:decision" and inbound.form == {
        "note": "Disclosed: weapons marker"
    }
    assert (inbound.form_ref, inbound.form_context) == ("DPT/01/2026", "approve")


async def test_channel_click_is_in_channel_and_replies_privately_to_the_clicker(rig: Rig) -> None:
    rig.handler.replies = [
        Form("spoc:decision", "Approve", "DPT/01/2026", (FormField("note", "Note"),))
    ]
    status, _ = await rig.post(
        "/web/api/event",
        {
            "officer": "spoc",
            "where": "channel",
            "kind": "action",
            "action": "spoc:approve",
            "value": "DPT/01/2026",
            "label": "Approve",
        },
    )
    assert status == 200
    [inbound] = rig.handler.inbounds
    assert inbound.in_channel and inbound.user_id == "spoc" and inbound.value == "DPT/01/2026"
    assert rig.sender.entries(CHANNEL_BOX) == []
    assert rig.sender.entries("spoc")[-1].message.form_id == "spoc:decision"  # type: ignore[union-attr]


async def test_timeline_replies_come_back_without_filling_the_inbox(rig: Rig) -> None:
    rig.handler.replies = [Text("You are not authorised to do that.")]
    data = await rig.event(kind="action", action="timeline", value="DPT/01/2026", where="timeline")
    assert data["messages"] == [{"type": "text", "text": "You are not authorised to do that."}]
    assert rig.handler.inbounds[0].action == "timeline"
    assert rig.sender.entries("req") == []


async def test_status_view_asks_the_engine_for_home(rig: Rig) -> None:
    data = await (await rig.client.get("/web/api/home?officer=mgr")).json()
    assert rig.handler.homes == [("web", "mgr", "")]
    assert data["messages"][0]["title"] == "My requests and forms due"


async def test_unknown_identity_is_refused(rig: Rig) -> None:
    status, _ = await rig.post("/web/api/event", {"officer": "nobody", "kind": "text", "text": "x"})
    assert status == 404
    assert (await rig.client.get("/web/api/home?officer=nobody")).status == 404
    assert (await rig.client.get("/web/api/events?officer=nobody")).status == 404
    assert rig.handler.inbounds == []


async def test_malformed_events_are_refused(rig: Rig) -> None:
    for body in (
        {"officer": "req", "kind": "shout"},
        {"officer": "req", "kind": "action"},
        {"officer": "req", "kind": "form", "action": "x", "form": {"a": 1}},
        {"officer": "req", "kind": "text", "text": "x" * 5000},
        {"officer": "req", "kind": "text", "where": "elsewhere"},
    ):
        status, data = await rig.post("/web/api/event", body)
        assert status == 400, body
        assert data["error"]
    assert rig.handler.inbounds == []


async def test_engine_failure_shows_a_short_message_with_an_error_id(rig: Rig) -> None:
    rig.handler.fail = True
    data = await rig.event(kind="text", text="hi")
    [entry] = data["entries"]
    assert entry["message"]["text"].startswith("Sorry, something went wrong on our side. Error id ")


async def test_an_event_the_store_cannot_take_is_refused_and_handled_once_sent_again(
    rig: Rig,
) -> None:
    """Refused with 503, as Slack and Teams are, so the page sends it again under the same id
    (the store may have taken it before the connection dropped); nothing shows twice."""
    rig.handler.replies = [Question("emergency", "Is anyone in immediate danger?")]
    rig.handler.refuse = 1
    body = {"officer": "req", "kind": "text", "text": "hi", "id": "page-event-1"}
    status, data = await rig.post("/web/api/event", body)
    assert status == 503
    assert "could not save that just now" in data["error"] and "status" in data["error"]
    assert rig.sender.entries("req") == [], "not even the echo: nothing was taken"
    again = await rig.event(**{k: v for k, v in body.items() if k != "officer"})
    assert [e["origin"] for e in again["entries"]] == ["bot"]
    third = await rig.event(**{k: v for k, v in body.items() if k != "officer"})
    assert third["entries"] == [], "a redelivery adds nothing"
    inbox = [e.to_json() for e in rig.sender.entries("req")]
    assert [e["origin"] for e in inbox] == ["me", "bot"]


async def test_events_without_an_id_each_echo(rig: Rig) -> None:
    for text in ("hi", "hello"):
        await rig.event(kind="text", text=text)
    echoes = [e.message for e in rig.sender.entries("req") if e.origin == "me"]
    assert [m.text for m in echoes if isinstance(m, Text)] == ["hi", "hello"]


def _form() -> Form:
    field = FormField("note", "Your question for the requester", kind="long_text")
    return Form("spoc:decision", "Ask DPT/01/2026", "DPT/01/2026", (field,), context="ask")


async def test_a_form_with_errors_comes_back_in_place_not_as_a_second_copy(rig: Rig) -> None:
    entry = rig.sender.post("spoc", _form())
    error = FormField("note", "Your question", kind="long_text", error="Write the question.")
    rig.handler.replies = [replace(_form(), fields=(error,))]
    submitted = {"form_ref": "DPT/01/2026", "form_context": "ask", "entry": entry.id}
    data = await rig.event(
        officer="spoc", kind="form", action="spoc:decision", form={"note": ""}, **submitted
    )
    [shown] = data["entries"]
    assert shown["id"] == entry.id and shown["message"]["fields"][0]["error"]
    inbox = rig.sender.entries("spoc")
    assert len(inbox) == 1, "no echo, no second copy of the form"


async def test_a_sent_form_is_closed_so_it_cannot_send_twice(rig: Rig) -> None:
    entry = rig.sender.post("spoc", _form())
    rig.handler.replies = [Text("Your question was sent to the requester of DPT/01/2026.")]
    submitted = {"form_ref": "DPT/01/2026", "form_context": "ask", "entry": entry.id}
    await rig.event(
        officer="spoc", kind="form", action="spoc:decision", form={"note": "Knife?"}, **submitted
    )
    closed, reply = (e.to_json()["message"] for e in rig.sender.entries("spoc"))
    assert closed["type"] == "card" and closed["status"] == "Sent. This form is closed."
    assert closed["title"] == "Ask DPT/01/2026" and closed["actions"] == []
    assert reply["text"].startswith("Your question was sent")


async def test_bodies_that_would_break_a_parser_are_refused(rig: Rig) -> None:
    headers = {"Origin": rig.origin, "Content-Type": "application/json"}
    for body, expected in (
        (b"[" * 100_000 + b"]" * 100_000, 400),  # json.loads would raise RecursionError
        (b'{"officer": "\xff"}', 400),
        (b'{"officer": ' + b"1" * 5000 + b"}", 400),
        (b"{" * 10, 400),
        (b'{"text": "' + b"x" * 300_000 + b'"}', 413),
    ):
        response = await rig.client.post("/web/api/event", data=body, headers=headers)
        assert response.status == expected, body[:20]
        assert len(await response.text()) < 200
    assert rig.handler.inbounds == []
