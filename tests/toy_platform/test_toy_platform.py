"""A platform added from one folder runs a request end to end: the requester asks on it, the
SPOC is paged on it and decides on it, the requester hears the outcome on it."""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from bot.platforms import PLATFORMS
from flows.directory import Directory, PlatformIdentity
from flows.messages import Card
from tests.decision_values import approval
from tests.night import ANSWERS, SATURDAY_2AM, open_test_store
from tests.toy_platform import NAME, PATH, PLATFORM, SENDER

ROOT = Path(__file__).resolve().parents[2]
ON_TOY = {"amara.okafor": "toy-amara", "di.marsh": "toy-marsh"}


def known_on_toy(directory: Directory) -> Directory:
    officers = tuple(
        o.model_copy(update={"identities": {NAME: PlatformIdentity(user=ON_TOY[o.id])}})
        if o.id in ON_TOY
        else o
        for o in directory.officers
    )
    return directory.model_copy(update={"officers": officers})


async def test_a_request_end_to_end_on_a_platform_added_from_one_folder(tmp_path: Path) -> None:
    raw = {"directory": str(ROOT / "directory.example.yaml"), "platforms": {NAME: {}}}
    settings = parse_settings(raw, {}, tmp_path)
    store = await open_test_store(f"sqlite:///{tmp_path / 'toy.db'}")
    app = build_app(
        settings,
        clock=FrozenClock(SATURDAY_2AM),
        store=store,
        directory=known_on_toy(load_directory(settings.directory)),
        run_worker=False,
        platforms=(*PLATFORMS, PLATFORM),
    )
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    ids = count()

    async def send(user: str, **event: Any) -> list[dict[str, Any]]:
        response = await client.post(PATH, json={"user": user, "id": f"e{next(ids)}", **event})
        assert response.status == 200
        replies: list[dict[str, Any]] = await response.json()
        return replies

    try:
        replies = await send("toy-amara", text="hello")
        for _ in range(40):
            questions = [r for r in replies if r["type"] == "question"]
            if not questions:
                break
            replies = await send("toy-amara", text=ANSWERS[questions[-1]["field"]])
        assert "sending your request" in str(replies)

        sender = app[SENDER]
        (card,) = [m for m in sender.inbox("toy-marsh") if isinstance(m, Card)]
        assert any(isinstance(m, Card) for m in sender.channel()), "the toy SPOC channel too"
        approve = next(a for a in card.actions if a.action_id == "spoc:approve")

        (form,) = await send("toy-marsh", action=approve.action_id, value=approve.value)
        assert form["type"] == "form" and form["id"] == "spoc:decision"
        await send(
            "toy-marsh",
            action=form["id"],
            form=approval("Disclosed: two cautions"),
            ref=form["ref"],
            context=form["ctx"],
        )
        told = " ".join(repr(m) for m in sender.inbox("toy-amara"))
        assert "was approved" in told and "Disclosed: two cautions" in told
    finally:
        await client.close()
        await store.close()


def test_the_directory_names_people_on_any_platform_by_its_name() -> None:
    """``identities: {<platform>: {user, tenant}}`` beside the native ``slack:``/``teams:``."""
    directory = Directory.model_validate(
        {
            "organisations": [{"code": "AAT", "name": "A Trust"}],
            "officers": [
                {
                    "id": "amara",
                    "name": "Amara",
                    "post": "On-call manager",
                    "org": "AAT",
                    "slack": {"user": "U1", "team": "T1"},
                    "identities": {NAME: {"user": "toy-amara"}},
                }
            ],
        }
    )
    assert directory.by_platform(NAME, "toy-amara", "") is directory.officer("amara")
    assert directory.by_platform("slack", "U1", "T1") is directory.officer("amara")
    assert set(directory.officers[0].known_on) == {"slack", NAME}
