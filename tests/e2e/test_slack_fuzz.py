"""Thousands of generated bad requests to ``POST /slack/events`` on a running ``oohbot serve``:
each gets exactly the short answer its defect calls for, nothing in the store changes and no
message is sent.

Every request is either bad or irrelevant:

- **401** unsigned, a timestamp that is not a number, the wrong secret, a signature of another
  body, a garbled signature, stale or from the future (over five minutes);
- **413** over the 1 MiB body limit (signed or not);
- **415** signed, but neither JSON nor a form;
- **400** signed, but unreadable: not JSON, nested too deep, not an object, a form that is no
  command or interaction, a required field missing or empty, a field of the wrong type, modal
  metadata that is not a JSON object — in DMs, mentions, Home tab events, button clicks, modal
  submissions and ``/ooh``;
- **200** signed and well formed but nothing oohbot handles (an event, interaction or command
  it does not subscribe to, a message that is not a person's DM, the Home tab's other tabs,
  Slack's URL verification and SSL check). Slack is acknowledged so it does not retry.

None of them may store anything: a person's well-formed DM would (the inbox entry, and the
refusal and its audit entry for an unknown user), so every DM, mention, click, submission and
``/ooh`` here is broken in at least one field oohbot reads. The only call to the Web API allowed
is Bolt's own ``auth.test``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import strategies as st

from tests.e2e.fuzzing import (
    DEPTHS,
    ENTRY,
    HEADER_TEXT,
    ID,
    LIST,
    LIST_,
    NOT_AN_OBJECT,
    NOT_JSON,
    OBJ,
    OBJ_,
    STR,
    STR_OR_OBJ_,
    TEXT,
    TEXT_,
    Background,
    Doc,
    Fields,
    Raw,
    Server,
    broken,
    deep,
    fuzz,
    not_json,
    serving,
)
from tests.e2e.slack_recorder import TEAM, SlackRecorder, running_recorder

SECRET = "fuzz-signing-secret"
PATH = "/slack/events"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 1024 * 1024


@pytest.fixture(scope="module")
def recorder() -> Iterator[SlackRecorder]:
    with Background(running_recorder()) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, recorder: SlackRecorder) -> Iterator[Server]:
    slack = {
        "signing_secret": SECRET,
        "bot_token": "xoxb-fuzz",
        "api_url": recorder.url,
        "spoc_channel": "C0SPOC",
    }
    with serving(tmp_path_factory.mktemp("slack-fuzz"), {"slack": slack}) as running:
        yield running


# --- payloads as Slack sends them, and the fields oohbot reads ---------------------------


def _envelope(event: Doc, n: int) -> Doc:
    return {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "A0OOH",
        "event_id": f"Ev{n:06d}",
        "event_time": 1_700_000_000,
        "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
        "event": event,
    }


ENVELOPE: Fields = {
    ("type",): ID,
    ("event_id",): ID,
    ("team_id",): STR,
    ("event",): OBJ,
    ("event", "type"): ID,
    ("authorizations",): LIST_,
    ("authorizations", 0): ENTRY,
    ("authorizations", 0, "team_id"): TEXT_,
}


def dm(n: int) -> Doc:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DFUZZ",
        "user": "UFUZZ",
        "team": TEAM,
        "text": "hello",
        "ts": "1700000000.000100",
    }
    return _envelope(event, n)


DM: Fields = {
    **ENVELOPE,
    ("event", "user"): ID,
    ("event", "channel"): ID,
    ("event", "channel_type"): TEXT_,
    ("event", "text"): TEXT_,
    ("event", "team"): TEXT_,
    ("event", "subtype"): TEXT_,
    ("event", "bot_id"): TEXT_,
}


def mention(n: int) -> Doc:
    event = {"type": "app_mention", "channel": "C0GENERAL", "user": "UFUZZ", "text": "<@UBOT> hi"}
    return _envelope(event, n)


MENTION: Fields = {
    **ENVELOPE,
    ("event", "user"): ID,
    ("event", "channel"): ID,
    ("event", "text"): TEXT_,
    ("event", "team"): TEXT_,
}


def home(n: int) -> Doc:
    return _envelope({"type": "app_home_opened", "user": "UFUZZ", "tab": "home"}, n)


HOME: Fields = {**ENVELOPE, ("event", "user"): ID, ("event", "tab"): TEXT_}


def _interaction(kind: str, n: int) -> Doc:
    return {
        "type": kind,
        "user": {"id": "UFUZZ", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "fuzz"},
        "api_app_id": "A0OOH",
        "trigger_id": f"trig.{n:06d}",
    }


INTERACTION: Fields = {
    ("type",): ID,
    ("user",): OBJ,
    ("user", "id"): ID,
    ("user", "team_id"): TEXT_,
    ("team",): STR_OR_OBJ_,
    ("trigger_id",): ID,
}


def click(n: int) -> Doc:
    body = _interaction("block_actions", n)
    body["actions"] = [
        {
            "type": "button",
            "action_id": "answer:grounds",
            "block_id": "b0",
            "value": "x",
            "action_ts": "1700000000.000200",
        }
    ]
    body["channel"] = {"id": "DFUZZ", "name": "directmessage"}
    body["container"] = {"type": "message", "channel_id": "DFUZZ", "message_ts": "1.2"}
    body["response_url"] = "https://hooks.slack.com/actions/T/1/x"
    picked = {"type": "checkboxes", "selected_options": [{"value": "public_safety"}]}
    body["state"] = {"values": {"b1": {"pick:grounds": picked}}}
    return body


PICK = ("state", "values", "b1", "pick:grounds")
CLICK: Fields = {
    **INTERACTION,
    ("actions",): LIST,
    ("actions", 0): OBJ,
    ("actions", 0, "type"): ID,
    ("actions", 0, "action_id"): ID,
    ("actions", 0, "value"): TEXT_,
    ("actions", 0, "action_ts"): TEXT_,
    ("channel",): OBJ_,
    ("channel", "id"): TEXT_,
    ("container",): OBJ_,
    ("container", "channel_id"): TEXT_,
    ("response_url",): TEXT_,
    ("state",): OBJ_,
    ("state", "values"): OBJ_,
    PICK[:3]: ENTRY,
    PICK: ENTRY,
    (*PICK, "type"): ID,
    (*PICK, "selected_options"): LIST_,
    (*PICK, "selected_options", 0): ENTRY,
    (*PICK, "selected_options", 0, "value"): STR,
}


def submission(n: int) -> Doc:
    body = _interaction("view_submission", n)
    note = {"type": "plain_text_input", "value": "disclosed the risk"}
    power = {"type": "static_select", "selected_option": {"value": "schedule_2"}}
    body["view"] = {
        "id": "V0FUZZ",
        "type": "modal",
        "callback_id": "spoc:decision",
        "title": {"type": "plain_text", "text": "Decision"},
        "private_metadata": json.dumps({"ref": "DPT/1/2026", "context": "approve"}),
        "state": {"values": {"decision:note": {"note": note}, "decision:power": {"power": power}}},
    }
    body["response_urls"] = [{"response_url": "https://hooks.slack.com/app/T/1/x"}]
    return body


NOTE = ("view", "state", "values", "decision:note", "note")
POWER = ("view", "state", "values", "decision:power", "power")
SUBMISSION: Fields = {
    **INTERACTION,
    ("view",): OBJ,
    ("view", "id"): TEXT_,
    ("view", "callback_id"): ID,
    ("view", "private_metadata"): TEXT_,
    ("view", "title"): OBJ_,
    ("view", "title", "text"): TEXT_,
    ("view", "state"): OBJ_,
    ("view", "state", "values"): OBJ_,
    NOTE[:4]: ENTRY,
    NOTE: ENTRY,
    (*NOTE, "type"): ID,
    (*NOTE, "value"): TEXT_,
    POWER: ENTRY,
    (*POWER, "type"): ID,
    (*POWER, "selected_option"): OBJ_,
    (*POWER, "selected_option", "value"): STR,
    ("response_urls",): LIST_,
    ("response_urls", 0): ENTRY,
    ("response_urls", 0, "response_url"): TEXT_,
}


def command(n: int) -> dict[str, str]:
    return {
        "command": "/ooh",
        "text": "status",
        "user_id": "UFUZZ",
        "user_name": "fuzz",
        "team_id": TEAM,
        "team_domain": "fuzz",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "trigger_id": f"trig.cmd.{n:06d}",
        "response_url": "https://hooks.slack.com/commands/T/1/x",
        "api_app_id": "A0OOH",
    }


COMMAND_REQUIRED = ["command", "user_id", "team_id", "channel_id", "trigger_id"]
EVENTS = [(dm, DM), (mention, MENTION), (home, HOME)]
INTERACTIONS = [(click, CLICK), (submission, SUBMISSION)]


def _payload_form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# --- requests ------------------------------------------------------------------------------


def _signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _signed(
    body: bytes, content_type: str, *, secret: str = SECRET, age: int = 0
) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": _signature(body, timestamp, secret),
    }


@st.composite
def good_body(draw: st.DrawFn) -> tuple[bytes, str]:
    """A well-formed body (to send with a bad signature)."""
    n = draw(st.integers(0, 999_999))
    kind = draw(st.sampled_from(["event", "interaction", "command"]))
    if kind == "event":
        return json.dumps(draw(st.sampled_from(EVENTS))[0](n)).encode(), JSON
    if kind == "interaction":
        return _payload_form(draw(st.sampled_from(INTERACTIONS))[0](n)), FORM
    return urlencode(command(n)).encode(), FORM


@st.composite
def unsigned(draw: st.DrawFn) -> Raw:
    body, content_type = draw(good_body())
    headers = _signed(body, content_type)
    defect = draw(
        st.sampled_from(
            ["unsigned", "timestamp", "secret", "tampered", "stale", "future", "signature"]
        )
    )
    if defect == "unsigned":
        stamp, sign = "X-Slack-Request-Timestamp", "X-Slack-Signature"
        for name in draw(st.sampled_from([[stamp], [sign], [stamp, sign]])):
            del headers[name]
    elif defect == "timestamp":
        stamp = draw(HEADER_TEXT.filter(lambda t: not t.isdigit()))
        headers["X-Slack-Request-Timestamp"] = stamp
        headers["X-Slack-Signature"] = _signature(body, stamp)
    elif defect == "secret":
        other = draw(TEXT.filter(lambda s: s != SECRET and s.strip() != ""))
        headers = _signed(body, content_type, secret=other)
    elif defect == "tampered":
        headers["X-Slack-Signature"] = _signed(body + b" ", content_type)["X-Slack-Signature"]
    elif defect in {"stale", "future"}:
        age = draw(st.integers(301, 10**7))
        headers = _signed(body, content_type, age=age if defect == "stale" else -age)
    else:
        headers["X-Slack-Signature"] = draw(HEADER_TEXT)
    return Raw(defect, 401, PATH, headers, body)


@st.composite
def unreadable(draw: st.DrawFn) -> Raw:
    """Signed, but not a body oohbot can read."""
    defect = draw(
        st.sampled_from(["content-type", "not-json", "deep", "not-object", "form", "big"])
    )
    content_type, expect = JSON, 400
    if defect == "content-type":
        body, _ = draw(good_body())
        content_type = draw(st.sampled_from(["text/plain", "", "multipart/form-data", "a/b"]))
        expect = 415
    elif defect == "not-json":
        body = draw(NOT_JSON)
        if draw(st.booleans()):
            body, content_type = urlencode({"payload": body}).encode(), FORM
    elif defect == "deep":
        text = deep(draw(DEPTHS))
        body = text.encode()
        if draw(st.booleans()):
            body, content_type = urlencode({"payload": text}).encode(), FORM
    elif defect == "not-object":
        value = draw(NOT_AN_OBJECT)
        body = json.dumps(value).encode()
        if draw(st.booleans()):
            body, content_type = _payload_form(value), FORM
    elif defect == "form":
        fields = st.dictionaries(TEXT, TEXT, max_size=4)
        form = draw(fields.filter(lambda f: not {"payload", "command", "ssl_check"} & set(f)))
        body, content_type = urlencode(form).encode(), FORM
    else:
        size = draw(st.integers(MAX_BODY, MAX_BODY + 10_000))
        body, expect = b'{"type": "' + b"x" * size + b'"}', 413
    signed = draw(st.booleans()) or defect != "big"
    headers = _signed(body, content_type) if signed else {"Content-Type": content_type}
    return Raw(defect, expect, PATH, headers, body)


@st.composite
def malformed(draw: st.DrawFn) -> Raw:
    """Signed and parsed, but a payload with a field oohbot reads missing or wrong."""
    kind = draw(st.sampled_from(["event", "interaction", "command", "metadata"]))
    if kind == "event":
        defect, doc = draw(broken(*draw(st.sampled_from(EVENTS))))
        body, content_type = json.dumps(doc).encode(), JSON
    elif kind == "interaction":
        defect, doc = draw(broken(*draw(st.sampled_from(INTERACTIONS))))
        body, content_type = _payload_form(doc), FORM
    elif kind == "command":
        form: dict[str, str] = command(draw(st.integers(0, 999_999)))
        name = draw(st.sampled_from(COMMAND_REQUIRED))
        if draw(st.booleans()):
            del form[name]
        else:
            form[name] = ""
        defect, body, content_type = "missing", urlencode(form).encode(), FORM
    else:
        doc = submission(draw(st.integers(0, 999_999)))
        metadata = draw(
            st.binary(min_size=1, max_size=40).map(lambda b: b.decode("latin-1")).filter(not_json)
            | NOT_AN_OBJECT.map(json.dumps)
            | DEPTHS.map(deep)
        )
        doc["view"]["private_metadata"] = metadata
        defect, body, content_type = "metadata", _payload_form(doc), FORM
    return Raw(defect, 400, PATH, _signed(body, content_type), body)


HANDLED = {"event_callback", "url_verification", "block_actions", "view_submission"}
OTHER_TYPE = TEXT.filter(lambda t: t.strip() != "" and t not in HANDLED)


@st.composite
def irrelevant(draw: st.DrawFn) -> Raw:
    """Signed, well formed, and nothing oohbot handles: acknowledged, nothing stored."""
    n = draw(st.integers(0, 999_999))
    kind = draw(st.sampled_from(["event", "message", "home", "type", "interaction", "command"]))
    body: bytes
    if kind == "event":
        other = TEXT.filter(lambda t: t.strip() != "" and t not in {"message", "app_mention"})
        event = {"type": draw(st.sampled_from(["reaction_added", "app_uninstalled"]) | other)}
        event.update({"user": "UFUZZ", "channel": "C0GENERAL"})
        if event["type"] == "app_home_opened":
            event["tab"] = "messages"
        body, content_type = json.dumps(_envelope(event, n)).encode(), JSON
    elif kind == "message":
        not_a_dm = draw(
            st.sampled_from(
                [
                    {"channel_type": "channel"},
                    {"channel_type": "mpim"},
                    {"subtype": "message_changed"},
                    {"subtype": "bot_message", "bot_id": "B0OTHER"},
                    {"bot_id": "B0OTHER"},
                ]
            )
        )
        doc = dm(n)
        doc["event"].update(not_a_dm)
        body, content_type = json.dumps(doc).encode(), JSON
    elif kind == "home":
        doc = home(n)
        doc["event"]["tab"] = draw(st.sampled_from(["messages", "about"]))
        body, content_type = json.dumps(doc).encode(), JSON
    elif kind == "type":
        extra: Doc = {"challenge": draw(HEADER_TEXT)} if n % 2 else {}
        kind_ = "url_verification" if extra else draw(OTHER_TYPE)
        body, content_type = json.dumps({"type": kind_, "token": "t", **extra}).encode(), JSON
        if n % 5 == 0:
            body, content_type = b"ssl_check=1&token=t", FORM
    elif kind == "interaction":
        other = st.sampled_from(["view_closed", "shortcut", "message_action", "block_suggestion"])
        doc = _interaction(draw(other | OTHER_TYPE), n)
        body, content_type = _payload_form(doc), FORM
    else:
        form = command(n)
        form["command"] = draw(TEXT.filter(lambda t: t.strip() != "" and t != "/ooh"))
        body, content_type = urlencode(form).encode(), FORM
    return Raw("irrelevant", 200, PATH, _signed(body, content_type), body)


def heaviest() -> list[Raw]:
    """The largest request of each kind: a body just over the limit, JSON nested 50,000 deep
    as the body, as an interaction's payload and as a modal's metadata."""
    deepest = deep(50_000)
    doc = submission(0)
    doc["view"]["private_metadata"] = deepest
    bodies = [
        (b'{"type": "' + b"x" * (MAX_BODY + 10_000) + b'"}', JSON, 413),
        (deepest.encode(), JSON, 400),
        (urlencode({"payload": deepest}).encode(), FORM, 400),
        (_payload_form(doc), FORM, 400),
    ]
    return [Raw("heaviest", status, PATH, _signed(b, kind), b) for b, kind, status in bodies]


def test_bad_requests_get_their_short_answer_and_change_nothing(
    server: Server, recorder: SlackRecorder
) -> None:
    def sent() -> list[str]:
        return [call.method for call in recorder.calls if call.method != "auth.test"]

    requests = st.one_of(unsigned(), unreadable(), malformed(), irrelevant())
    good = json.dumps(dm(1_000_000)).encode()
    control = Raw("good", 200, PATH, _signed(good, JSON), good)
    fuzz(server, requests, same=sent, control=control, heaviest=heaviest())
