"""Thousands of generated bad requests to ``POST /api/messages`` on a running ``oohbot serve``,
with Bot Framework authentication off (a developer's machine) and on (``teams.app_id`` set):
each gets exactly the short answer its defect calls for, nothing in the store changes and
nothing is sent to the connector.

- **415** not JSON (``Content-Type``); **413** over 256 KB;
- **400** not JSON, nested too deep, not an object, not an activity (a timestamp that is no
  date), a field oohbot or botbuilder reads missing, empty or of the wrong type, a
  ``serviceUrl`` that is no http(s) address — in messages, card submissions, conversation and
  installation updates. The activity is checked before authentication, so these are 400 with
  authentication on too;
- **401** a well-formed activity with an ``Authorization`` header that is not a Bot Framework
  token (botbuilder checks any token it is given, even with authentication off), and with
  authentication on, any without one;
- with authentication off, well-formed activities oohbot does not act on (typing, reactions,
  events, the end of a conversation, invokes) are acknowledged: **201**, an invoke **200**.

Nothing here may be stored. A well-formed message or conversation update would legitimately
write (the person's conversation reference, the tenant's service URL, the inbox entry and, for
an unknown person, the refusal and its audit entry), so every message and update sent here is
broken in at least one field, or carries a token that is not one, or meets authentication.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.e2e.fuzzing import (
    BOOL_,
    DEPTHS,
    ENTRY,
    HEADER_TEXT,
    ID,
    JSON_VALUE,
    LIST_,
    NOT_AN_OBJECT,
    NOT_JSON,
    OBJ,
    OBJ_,
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
    serving,
    with_value,
)
from tests.e2e.teams_recorder import TeamsRecorder

PATH = "/api/messages"
TENANT = "tenant-fuzz"
MAX_BODY = 256 * 1024
SPOC_CHANNEL = "19:spoc@thread.tacv2"


@pytest.fixture(scope="module")
def recorder() -> Iterator[TeamsRecorder]:
    with Background(TeamsRecorder()) as running:
        yield running


def _teams(tmp: Any, **auth: str) -> Any:
    teams = {"enabled": True, "spoc_channel": SPOC_CHANNEL, **auth}
    return serving(tmp, {"teams": teams})


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _teams(tmp_path_factory.mktemp("teams-fuzz-open")) as running:
        yield running


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    auth = {"app_id": "00000000-0000-0000-0000-00000000f022", "app_password": "fuzz"}
    with _teams(tmp_path_factory.mktemp("teams-fuzz-guarded"), **auth) as running:
        yield running


# --- activities as the connector sends them, and the fields read -------------------------


def _activity(service_url: str, kind: str, n: int) -> Doc:
    return {
        "type": kind,
        "id": f"f:{n:06d}",
        "timestamp": "2026-01-05T01:02:03.456Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:fuzz", "aadObjectId": "aad-fuzz", "name": "Someone"},
        "recipient": {"id": "28:bot", "name": "oohbot"},
        "conversation": {
            "id": "a:personal-fuzz",
            "conversationType": "personal",
            "tenantId": TENANT,
            "isGroup": False,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-GB",
    }


ACTIVITY: Fields = {
    ("type",): ID,
    ("serviceUrl",): ID,
    ("channelId",): ID,
    ("from",): OBJ,
    ("from", "id"): ID,
    ("from", "aadObjectId"): TEXT_,
    ("from", "name"): TEXT_,
    ("recipient",): OBJ,
    ("recipient", "id"): ID,
    ("recipient", "name"): TEXT_,
    ("conversation",): OBJ,
    ("conversation", "id"): ID,
    ("conversation", "conversationType"): TEXT_,
    ("conversation", "tenantId"): TEXT_,
    ("conversation", "isGroup"): BOOL_,
    ("channelData",): OBJ_,
    ("channelData", "tenant"): OBJ_,
    ("channelData", "tenant", "id"): TEXT_,
    ("timestamp",): TEXT_,
    ("locale",): TEXT_,
}
MESSAGE: Fields = {**ACTIVITY, ("id",): ID, ("text",): TEXT_, ("entities",): LIST_}


def templates(service_url: str) -> list[tuple[Any, dict[Any, str]]]:
    """Activity makers, each with the fields that must be right."""

    def text(n: int) -> Doc:
        return {**_activity(service_url, "message", n), "text": "hello"}

    def click(n: int) -> Doc:
        value = {"action": "spoc:ack", "ref": "DPT/1/2026"}
        return {**_activity(service_url, "message", n), "value": value}

    def in_channel(n: int) -> Doc:
        activity = text(n)
        thread = f"{SPOC_CHANNEL};messageid=1"
        activity["conversation"].update(id=thread, conversationType="channel")
        activity["channelData"].update(channel={"id": SPOC_CHANNEL}, team={"id": "19:team"})
        activity["entities"] = [{"type": "mention", "text": "<at>oohbot</at>"}]
        return activity

    def update(n: int) -> Doc:
        activity = _activity(service_url, "conversationUpdate", n)
        activity["membersAdded"] = [{"id": "28:bot"}]
        return activity

    def install(n: int) -> Doc:
        return {**_activity(service_url, "installationUpdate", n), "action": "add"}

    channel: Fields = {
        **MESSAGE,
        ("channelData", "channel"): OBJ_,
        ("channelData", "channel", "id"): TEXT_,
        ("entities", 0): ENTRY,
    }
    return [
        (text, MESSAGE),
        (click, MESSAGE),
        (in_channel, channel),
        (update, ACTIVITY),
        (install, ACTIVITY),
    ]


@st.composite
def well_formed(draw: st.DrawFn, service_url: str) -> Doc:
    make, _ = draw(st.sampled_from(templates(service_url)))
    return dict(make(draw(st.integers(0, 999_999))))


@st.composite
def unreadable(draw: st.DrawFn, service_url: str) -> Raw:
    defect = draw(
        st.sampled_from(["content-type", "not-json", "deep", "not-object", "big", "timestamp"])
    )
    headers, expect = {"Content-Type": "application/json"}, 400
    body = json.dumps(draw(well_formed(service_url))).encode()
    if defect == "content-type":
        kinds = ["text/plain", "", "application/x-www-form-urlencoded", "application/jsonx"]
        headers["Content-Type"] = draw(st.sampled_from(kinds))
        expect = 415
    elif defect == "not-json":
        body = draw(NOT_JSON)
    elif defect == "deep":
        body = deep(draw(DEPTHS)).encode()
    elif defect == "not-object":
        body = json.dumps(draw(NOT_AN_OBJECT)).encode()
    elif defect == "big":
        body, expect = b'{"type": "' + b"x" * MAX_BODY + b'"}', 413
    else:
        stamp = draw(TEXT.filter(lambda t: not t[:4].isdigit()))
        body = json.dumps({**json.loads(body), "timestamp": stamp}).encode()
    if draw(st.booleans()):
        headers["Authorization"] = draw(_garbage_token())
    return Raw(defect, expect, PATH, headers, body)


@st.composite
def malformed(draw: st.DrawFn, service_url: str) -> Raw:
    """A message, submission or update with a field missing or wrong, or a bad service URL."""
    if draw(st.integers(0, 9)) == 0:
        doc = draw(well_formed(service_url))
        nowhere = ["ftp://x", "javascript:alert(1)", "http://", "https://", "//x", "x"]
        not_http = TEXT.filter(lambda u: not u.startswith("http"))
        url = draw(st.sampled_from(nowhere) | not_http)
        defect, doc = "service-url", with_value(doc, ("serviceUrl",), url)
    else:
        defect, doc = draw(broken(*draw(st.sampled_from(templates(service_url)))))
    headers = {"Content-Type": "application/json"}
    if draw(st.booleans()):
        headers["Authorization"] = draw(_garbage_token())
    return Raw(defect, 400, PATH, headers, json.dumps(doc).encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@st.composite
def _garbage_token(draw: st.DrawFn) -> str:
    """An ``Authorization`` value that is no Bot Framework token (never one whose issuer
    botbuilder trusts, which would fetch signing keys from Microsoft)."""
    kind = draw(st.sampled_from(["text", "bearer", "jwt"]))
    if kind == "text":
        return draw(HEADER_TEXT.filter(bool))
    if kind == "bearer":
        return "Bearer " + draw(HEADER_TEXT.filter(bool))
    claims = draw(st.dictionaries(st.sampled_from(["iss", "aud", "ver", "appid", "azp"]), TEXT))
    claims["iss"] = "https://fuzz.invalid/" + claims.get("iss", "")
    header = {"alg": draw(st.sampled_from(["RS256", "none", "HS256"])), "typ": "JWT"}
    parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), "c2ln"]
    return "Bearer " + ".".join(parts)


@st.composite
def bad_token(draw: st.DrawFn, service_url: str) -> Raw:
    """A well-formed activity of any kind with a token that is not one."""
    doc = draw(well_formed(service_url) | ignored(service_url))
    headers = {"Content-Type": "application/json", "Authorization": draw(_garbage_token())}
    return Raw("token", 401, PATH, headers, json.dumps(doc).encode())


@st.composite
def no_token(draw: st.DrawFn, service_url: str) -> Raw:
    doc = draw(well_formed(service_url) | ignored(service_url))
    headers = {"Content-Type": "application/json"}
    return Raw("no-token", 401, PATH, headers, json.dumps(doc).encode())


OTHER_TYPE = TEXT.filter(
    lambda t: (
        t.strip() != ""
        and t not in {"message", "conversationUpdate", "installationUpdate", "invoke"}
    )
)


@st.composite
def ignored(draw: st.DrawFn, service_url: str) -> Doc:
    """A well-formed activity oohbot does not act on (nothing to remember, nothing to do)."""
    n = draw(st.integers(0, 999_999))
    kind = draw(
        st.sampled_from(["typing", "messageReaction", "event", "endOfConversation", "invoke"])
        | OTHER_TYPE
    )
    activity = _activity(service_url, kind, n)
    if kind == "messageReaction":
        activity["reactionsAdded"] = [{"type": "like"}]
    if kind in {"event", "invoke"}:
        names = ["task/fetch", "adaptiveCard/action", "signin/verifyState", "healthCheck"]
        activity["name"] = draw(st.sampled_from(names) | TEXT)
        activity["value"] = draw(JSON_VALUE)
    return activity


@st.composite
def irrelevant(draw: st.DrawFn, service_url: str) -> Raw:
    doc = draw(ignored(service_url))
    expect = 200 if doc["type"] == "invoke" else 201
    headers = {"Content-Type": "application/json; charset=utf-8"}
    return Raw("irrelevant", expect, PATH, headers, json.dumps(doc).encode())


def heaviest() -> list[Raw]:
    """The largest request of each kind: a body just over the limit, JSON nested 50,000 deep."""
    headers = {"Content-Type": "application/json"}
    big = b'{"type": "' + b"x" * (MAX_BODY + 10_000) + b'"}'
    deepest = deep(50_000).encode()
    return [Raw("heaviest", 413, PATH, headers, big), Raw("heaviest", 400, PATH, headers, deepest)]


def test_bad_activities_without_authentication(
    open_server: Server, recorder: TeamsRecorder
) -> None:
    url = recorder.url
    requests = st.one_of(unreadable(url), malformed(url), bad_token(url), irrelevant(url))
    good = json.dumps({**_activity(url, "message", 1_000_000), "text": "hello"}).encode()
    control = Raw("good", 201, PATH, {"Content-Type": "application/json"}, good)
    fuzz(open_server, requests, same=recorder.calls.copy, control=control, heaviest=heaviest())


def test_bad_activities_with_authentication(
    guarded_server: Server, recorder: TeamsRecorder
) -> None:
    url = recorder.url
    requests = st.one_of(unreadable(url), malformed(url), bad_token(url), no_token(url))
    fuzz(guarded_server, requests, same=recorder.calls.copy, heaviest=heaviest())
