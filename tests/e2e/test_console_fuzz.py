"""Thousands of generated bad requests to the web console's routes, against ``oohbot serve``
running as a real process: every answer is a short 4xx, nothing in the store or any inbox
changes, and the server's memory does not grow.

Every generated request is bad in at least one way (the ``defect`` each strategy names), so
none of them may act: an unknown officer, path or asset, a wrong method, a foreign or garbled
``Host``, no or another ``Origin``, a body that is not JSON, too deep, too big, not an object,
or an event or clock change with a field the console must refuse.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.fuzzing import (
    BAD_REQUESTS,
    DEPTHS,
    JSON_VALUE,
    NOT_AN_OBJECT,
    NOT_JSON,
    TEXT,
    WARM_UP,
    Server,
    deep,
    serving,
)

ROOT = Path(__file__).resolve().parents[2]
OFFICERS = [
    o["id"] for o in yaml.safe_load((ROOT / "directory.example.yaml").read_text())["officers"]
]
ALLOWED = {400, 401, 403, 404, 405, 413, 415, 429}
"""405 (wrong method) comes from the router, with the Allow header HTTP requires; 429 is the
cap on live streams per officer."""
MAX_BODY = 256 * 1024

HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
UNKNOWN_OFFICER = TEXT.filter(lambda text: text not in OFFICERS)


@dataclass
class Raw:
    """One HTTP request, as sent."""

    defect: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Console:
    """``oohbot serve`` with the console on, and the statuses of what was sent to it."""

    server: Server
    sent: list[int] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def state(self) -> dict[str, Any]:
        """Everything a request could change: every table of the store, every inbox."""
        return {
            "store": self.server.store(),
            "inboxes": {o: self.snapshot(o) for o in OFFICERS},
        }

    def snapshot(self, officer: str) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.request("GET", f"/web/api/events?officer={quote(officer)}")
            response = connection.getresponse()
            assert response.status == 200
            while not (line := response.fp.readline()).startswith(b"data: "):
                pass
            snapshot = json.loads(line.removeprefix(b"data: "))
            snapshot.pop("clock")
            return snapshot
        finally:
            connection.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with serving(tmp_path_factory.mktemp("fuzz"), {"web": {"enabled": True}}) as running:
        yield Console(running)


# --- strategies: every request is bad in at least one way --------------------------------


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


GET_ROUTES = ["/", "/web/app.js", "/web/api/config", "/web/api/events?officer=di.marsh"]
POST_ROUTES = ["/web/api/event", "/web/api/clock"]


@st.composite
def bad_gets(draw: st.DrawFn) -> Raw:
    defect = draw(st.sampled_from(["officer", "asset", "path", "method", "host"]))
    if defect == "officer":
        route = draw(st.sampled_from(["events", "home"]))
        return Raw(defect, "GET", f"/web/api/{route}?officer={quote(draw(UNKNOWN_OFFICER))}")
    if defect == "asset":
        name = draw(TEXT.filter(lambda t: t not in {"app.js", "app.css", "api"} and t))
        return Raw(defect, "GET", _path("web", name))
    if defect == "path":
        parts = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=3))
        return Raw(defect, "GET", _path("x" + parts[0], *parts[1:]))
    if defect == "method":
        method = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"]))
        return Raw(defect, method, draw(st.sampled_from(GET_ROUTES + POST_ROUTES)))
    host = draw(st.sampled_from(["evil.example", "::1", "127.0.0.1:99999", "xn--", "10.0.0.1"]))
    return Raw(defect, "GET", draw(st.sampled_from(GET_ROUTES)), {"Host": host})


def _event_defects(officer: str) -> st.SearchStrategy[dict[str, Any]]:
    base = {"officer": officer}
    kinds = TEXT.filter(lambda t: t not in {"text", "action", "form"})
    not_a_string = JSON_VALUE.filter(lambda v: not isinstance(v, str))
    return st.one_of(
        kinds.map(lambda kind: {**base, "kind": kind}),
        st.just({**base, "kind": "action"}),
        st.just({**base, "kind": "text", "text": "x" * 4001}),
        not_a_string.map(lambda v: {**base, "kind": "text", "text": v}),
        TEXT.filter(lambda t: t not in {"chat", "channel", "status", "timeline"}).map(
            lambda where: {**base, "kind": "text", "text": "hi", "where": where}
        ),
        not_a_string.map(lambda v: {**base, "kind": "action", "action": "x", "label": v}),
        st.integers().map(lambda n: {**base, "kind": "form", "action": "x", "form": {"a": n}}),
        not_a_string.map(lambda v: {**base, "kind": "action", "action": "x", "value": v}),
    )


def _bad_event() -> st.SearchStrategy[dict[str, Any]]:
    unknown = UNKNOWN_OFFICER.map(lambda o: {"officer": o, "kind": "text", "text": "hello"})
    return st.sampled_from(OFFICERS).flatmap(_event_defects) | unknown


def _bad_clock() -> st.SearchStrategy[dict[str, Any]]:
    numbers = st.floats(allow_nan=False) | st.integers()
    out_of_range = numbers.filter(lambda h: not 0 < h <= 24 * 30)
    wrong_type = JSON_VALUE.filter(lambda v: isinstance(v, str | list | dict | bool) or v is None)
    return (out_of_range | wrong_type).map(lambda hours: {"hours": hours}) | st.just({})


@st.composite
def bad_posts(draw: st.DrawFn, origin: str) -> Raw:
    route = draw(st.sampled_from(POST_ROUTES))
    good_body = draw(_bad_event() if route == POST_ROUTES[0] else _bad_clock())
    headers = {"Content-Type": "application/json", "Origin": origin}
    defect = draw(
        st.sampled_from(
            ["content", "no-origin", "origin", "not-json", "deep", "not-object", "big", "field"]
        )
    )
    body = json.dumps(good_body).encode()
    if defect == "content":
        headers["Content-Type"] = draw(
            st.sampled_from(["text/plain", "application/x-www-form-urlencoded", ""])
        )
    elif defect == "no-origin":
        del headers["Origin"]
    elif defect == "origin":
        headers["Origin"] = draw(HEADER_TEXT.filter(lambda o: o != headers["Origin"]))
    elif defect == "not-json":
        body = draw(NOT_JSON)
    elif defect == "deep":
        body = deep(draw(DEPTHS)).encode()
    elif defect == "not-object":
        body = json.dumps(draw(NOT_AN_OBJECT)).encode()
    elif defect == "big":
        body = b'{"text": "' + b"x" * (MAX_BODY + 1) + b'"}'
    if draw(st.booleans()):
        headers["Authorization"] = "Bearer " + draw(HEADER_TEXT)
    return Raw(defect, "POST", route, headers, body)


def test_bad_requests_get_short_4xx_and_change_nothing(console: Console) -> None:
    answers: dict[int, int] = {}

    def fuzz(request: Raw) -> None:
        status, body = console.server.send(request)
        console.sent.append(status)
        answers[status] = answers.get(status, 0) + 1
        assert status in ALLOWED, (status, request, body[:300])
        assert len(body) < 300 and b"Traceback" not in body, (request, body[:300])

    requests = st.one_of(bad_gets(), bad_posts(console.origin))
    run = settings(
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    settings(run, max_examples=WARM_UP)(given(requests)(fuzz))()
    before, rss_before = console.state(), console.server.rss_kb()
    console.sent.clear()
    settings(run, max_examples=BAD_REQUESTS)(given(requests)(fuzz))()
    assert len(console.sent) >= BAD_REQUESTS
    assert console.state() == before, "a bad request changed the store or an inbox"
    assert console.server.rss_kb() <= 1.1 * rss_before, (
        rss_before,
        console.server.rss_kb(),
        answers,
    )
    assert console.server.process.poll() is None
