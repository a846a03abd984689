"""Wiring: /api/messages on the shared app, authentication rules, replies via serviceUrl."""

from __future__ import annotations

from typing import cast

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import NotStored
from adapters.teams import TeamsConfigError, check_auth, install
from adapters.teams.settings import TeamsSettings
from bot.config import Listen, Service
from flows.messages import Text
from store.base import Store
from tests.adapters.teams.conftest import (
    AAD,
    TENANT,
    AddressBook,
    RecordingHandler,
    TeamsRig,
    activity,
    dev_service,
)


async def test_text_message_reaches_engine_and_reply_reaches_service_url(rig: TeamsRig) -> None:
    rig.handler.replies = [Text("Is anyone in immediate danger?")]
    status = await rig.post(activity(rig.recorder.url, text="hello", activity_id="m-1"))
    assert status in {200, 201}
    [inbound] = rig.handler.inbounds
    assert (inbound.platform, inbound.kind, inbound.text) == ("teams", "text", "hello")
    assert (inbound.user_id, inbound.tenant, inbound.event_id) == (AAD, TENANT, "m-1")
    assert inbound.conversation == "a:personal-1" and not inbound.in_channel
    [call] = rig.recorder.calls
    assert call.kind == "reply" and call.conversation == "a:personal-1"
    assert call.card["body"][0]["text"] == "Is anyone in immediate danger?"


async def test_first_contact_stores_the_conversation_reference(rig: TeamsRig) -> None:
    await rig.post(activity(rig.recorder.url, text="hi"))
    reference = rig.book.addresses[("teams", AAD)]
    assert reference["conversation"]["id"] == "a:personal-1"
    assert reference["service_url"] == rig.recorder.url
    assert reference["conversation"]["tenant_id"] == TENANT, "our shape, not botbuilder's"
    assert "activityId" not in reference and "activity_id" not in reference
    assert rig.book.addresses[("teams", f"service:{TENANT}")] == {"service_url": rig.recorder.url}


async def test_installation_stores_the_reference_without_calling_the_engine(
    rig: TeamsRig,
) -> None:
    update = activity(rig.recorder.url, type_="conversationUpdate")
    update["membersAdded"] = [{"id": "28:bot"}]
    assert await rig.post(update) in {200, 201}
    assert ("teams", AAD) in rig.book.addresses
    assert rig.handler.inbounds == []


async def test_channel_install_stores_the_channel_reference(rig: TeamsRig) -> None:
    update = activity(
        rig.recorder.url,
        type_="conversationUpdate",
        conversation="19:spoc@thread.tacv2",
        conversation_type="channel",
    )
    await rig.post(update)
    stored = rig.book.addresses[("teams", "channel:19:spoc@thread.tacv2")]
    assert stored["conversation"]["id"] == "19:spoc@thread.tacv2"


async def test_engine_failure_shows_an_error_id_and_no_details(rig: TeamsRig) -> None:
    rig.handler.fail = True
    assert await rig.post(activity(rig.recorder.url, text="hello")) in {200, 201}
    [call] = rig.recorder.calls
    text = call.card["body"][0]["text"]
    assert "Error id" in text and "exploded" not in text


async def test_non_json_is_refused(rig: TeamsRig) -> None:
    response = await rig.client.post(
        "/api/messages", data="x", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert rig.handler.inbounds == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"from": "someone"}, 400),
        ({"conversation": None}, 400),
        ({"text": 5}, 400),
        ({"serviceUrl": "javascript:alert(1)"}, 400),
        ({"timestamp": "yesterday"}, 400),
    ],
    ids=["from", "conversation", "text", "service-url", "timestamp"],
)
async def test_a_malformed_activity_is_a_400_and_nothing_is_remembered(
    rig: TeamsRig, change: dict[str, object], status: int
) -> None:
    assert await rig.post({**activity(rig.recorder.url, text="hello"), **change}) == status
    assert rig.handler.inbounds == [] and rig.book.addresses == {}


async def test_json_too_deep_or_too_large_is_refused(rig: TeamsRig) -> None:
    headers = {"Content-Type": "application/json"}
    deep = await rig.client.post("/api/messages", data="[" * 50_000, headers=headers)
    large = await rig.client.post("/api/messages", data=b" " * 300_000, headers=headers)
    assert (deep.status, large.status) == (400, 413)


async def test_an_invoke_is_acknowledged_not_501(rig: TeamsRig) -> None:
    invoke = {**activity(rig.recorder.url, type_="invoke"), "name": "task/fetch"}
    assert await rig.post(invoke) == 200
    assert rig.handler.inbounds == []


async def test_an_activity_the_inbox_cannot_store_is_503_so_it_comes_again(
    rig: TeamsRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(_: object) -> None:
        raise NotStored("ConnectionError")

    monkeypatch.setattr(rig.handler, "receive", down)
    assert await rig.post(activity(rig.recorder.url, text="hello")) == 503
    assert rig.recorder.calls == []


async def test_a_token_that_is_not_one_is_401_with_authentication_off(rig: TeamsRig) -> None:
    for token in ("Bearer garbage", "garbage", "Bearer a.b.c"):
        assert await rig.post(activity(rig.recorder.url, text="hi"), Authorization=token) == 401
    assert rig.handler.inbounds == [] and rig.book.addresses == {}


# --- authentication -------------------------------------------------------------------------


async def test_with_an_app_id_a_request_without_token_is_401() -> None:
    handler = RecordingHandler()
    app = web.Application()
    settings = TeamsSettings(enabled=True, app_id="11111111-2222", app_password="secret")
    production = Service(environment="production", listen=Listen(host="0.0.0.0"))
    install(app, handler, settings, production, _store())
    async with TestClient(TestServer(app)) as client:
        response = await client.post(
            "/api/messages", json=activity("http://127.0.0.1:9/", text="hello")
        )
        assert response.status == 401
        forged = await client.post(
            "/api/messages",
            json=activity("http://127.0.0.1:9/", text="hello"),
            headers={"Authorization": ""},
        )
        assert forged.status == 401
        garbage = await client.post(
            "/api/messages",
            json=activity("http://127.0.0.1:9/", text="hello"),
            headers={"Authorization": "Bearer garbage"},
        )
        assert (garbage.status, await garbage.json()) == (401, {"error": "not authorised"})
    assert handler.inbounds == []


def test_production_without_app_id_refuses_to_start() -> None:
    production = Service(environment="production", listen=Listen(host="127.0.0.1"))
    with pytest.raises(TeamsConfigError, match="production"):
        install(
            web.Application(), RecordingHandler(), TeamsSettings(enabled=True), production, _store()
        )


def test_development_without_app_id_refuses_a_public_interface() -> None:
    with pytest.raises(TeamsConfigError, match="loopback"):
        check_auth(TeamsSettings(enabled=True), dev_service(host="0.0.0.0"))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_development_on_loopback_starts_and_warns(host: str) -> None:
    with structlog.testing.capture_logs() as logs:
        app = web.Application()
        install(app, RecordingHandler(), TeamsSettings(enabled=True), dev_service(host), _store())
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    assert ("POST", "/api/messages") in routes
    [warning] = [entry for entry in logs if entry["event"] == "teams_auth_disabled"]
    assert warning["log_level"] == "warning"
    assert "AUTHENTICATION IS OFF" in warning["message"]


def _store() -> Store:
    return cast(Store, AddressBook())
