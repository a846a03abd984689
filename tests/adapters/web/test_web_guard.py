"""Who may reach the console: loopback only, or a token; same-origin JSON writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web

from adapters.base import AdapterConfigError
from adapters.network import is_loopback
from adapters.web import WebConsoleRefused, install
from adapters.web.settings import WebSettings
from tests.adapters.web.conftest import DIRECTORY, RecordingHandler, Rig, RigFactory, service


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "bot.example.org"])
def test_non_loopback_listen_is_refused_without_a_token(host: str) -> None:
    with pytest.raises(WebConsoleRefused, match=r"web\.auth_token"):
        install(
            web.Application(),
            RecordingHandler(),
            settings=WebSettings(),
            service=service(host),
            directory=DIRECTORY,
            advance=None,
        )


def test_refusal_is_a_configuration_error_the_cli_reports() -> None:
    assert issubclass(WebConsoleRefused, AdapterConfigError)


def test_non_loopback_listen_is_allowed_with_a_token() -> None:
    install(
        web.Application(),
        RecordingHandler(),
        settings=WebSettings(auth_token="s3cret-token"),
        service=service("0.0.0.0"),
        directory=DIRECTORY,
        advance=None,
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_names(host: str) -> None:
    assert is_loopback(host)


async def test_token_is_required_when_set(make_rig: RigFactory) -> None:
    rig = await make_rig(WebSettings(auth_token="s3cret-token"))
    for path in ("/", "/web/app.js", "/web/api/config", "/web/api/events?officer=req"):
        assert (await rig.client.get(path)).status == 401, path
    status, _ = await rig.post("/web/api/event", {"officer": "req", "kind": "text", "text": "x"})
    assert status == 401 and rig.handler.inbounds == []
    wrong = await rig.client.get("/web/api/config", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    right = await rig.client.get(
        "/web/api/config", headers={"Authorization": "Bearer s3cret-token"}
    )
    assert right.status == 200


async def test_token_link_sets_a_cookie_and_forgets_the_token_in_the_address(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(WebSettings(auth_token="s3cret-token"))
    assert (await rig.client.get("/?token=wrong", allow_redirects=False)).status == 401
    login = await rig.client.get("/?token=s3cret-token", allow_redirects=False)
    assert login.status == 302 and login.headers["Location"] == "/"
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would be dropped
    assert (await rig.client.get("/")).status == 200  # the client kept the cookie


async def test_the_cookie_is_secure_behind_an_https_proxy(make_rig: RigFactory) -> None:
    rig = await make_rig(WebSettings(auth_token="s3cret-token"))
    login = await rig.client.get(
        "/?token=s3cret-token", allow_redirects=False, headers={"X-Forwarded-Proto": "https"}
    )
    assert login.status == 302 and "Secure" in login.headers["Set-Cookie"]


async def test_without_a_token_a_foreign_host_name_is_refused(rig: Rig) -> None:
    rebound = await rig.client.get("/web/api/config", headers={"Host": "evil.example:3978"})
    assert rebound.status == 403


async def test_writes_must_be_same_origin_json(rig: Rig) -> None:
    form = await rig.client.post("/web/api/event", data={"officer": "req", "kind": "text"})
    assert form.status == 415
    status, _ = await rig.post(
        "/web/api/event",
        {"officer": "req", "kind": "text", "text": "x"},
        Origin="http://evil.example",
    )
    assert status == 403 and rig.handler.inbounds == []
    for origin in ("", "null", "http://[", f"{rig.origin}.evil.example"):
        status, _ = await rig.post("/web/api/event", {"officer": "req"}, Origin=origin)
        assert status == 403, origin
    assert rig.handler.inbounds == []
    status, _ = await rig.post(
        "/web/api/event", {"officer": "req", "kind": "text", "text": "x"}, Origin=rig.origin
    )
    assert status == 200


async def test_a_garbage_host_header_is_a_400(rig: Rig) -> None:
    for host in ("::1", "127.0.0.1:99999", "xn--", "[::1]:x"):  # yarl cannot parse these
        response = await rig.client.get("/web/api/config", headers={"Host": host})
        assert response.status == 400, host


async def test_clock_control_advances_and_tells_every_browser(rig: Rig) -> None:
    status, clock = await rig.post("/web/api/clock", {"hours": 72})
    assert status == 200 and clock == {
        "enabled": True,
        "offset_seconds": 72 * 3600.0,
        "now": "2026-11-24T02:00:00+00:00",
        "timezone": "Europe/London",
    }
    assert rig.advanced == [timedelta(hours=72)]
    for bad in ({"hours": 0}, {"hours": -1}, {"hours": "72"}, {"hours": True}, {"hours": 1e9}):
        assert (await rig.post("/web/api/clock", bad))[0] == 400, bad
    assert rig.advanced == [timedelta(hours=72)]


@pytest.mark.parametrize(
    ("settings", "with_clock"),
    [(WebSettings(clock_control=False), True), (WebSettings(), False)],
)
async def test_clock_control_is_absent_when_disabled(
    make_rig: RigFactory, settings: WebSettings, with_clock: bool
) -> None:
    rig = await make_rig(settings, with_clock=with_clock)
    status, _ = await rig.post("/web/api/clock", {"hours": 72})
    assert status in {404, 405} and rig.advanced == []
    config = await (await rig.client.get("/web/api/config")).json()
    assert config["clock"]["enabled"] is False
