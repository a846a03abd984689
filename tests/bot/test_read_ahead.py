"""The worker reads a claimed batch's requests in one go (one store read per batch, not one
per timer), and a job never acts on a copy a retry should have read again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from store.base import Versioned
from tests.night import Night, texts

REF = re.compile(r"DPT/\d{2,}/2026")


async def test_a_batch_of_timers_reads_its_requests_once(
    night: Night, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = []
    for _ in range(3):
        found = REF.search(texts(await night.request("amara.okafor")))
        assert found
        refs.append(found.group(0))
    store = night.engine.store
    single: list[str] = []
    batches: list[set[str]] = []
    get_request, get_requests = store.get_request, store.get_requests

    async def one(ref: str) -> Versioned | None:
        single.append(ref)
        return await get_request(ref)

    async def many(wanted: Any) -> list[Versioned]:
        batches.append(set(wanted))
        return await get_requests(wanted)

    monkeypatch.setattr(store, "get_request", one)
    monkeypatch.setattr(store, "get_requests", many)
    await night.advance(timedelta(minutes=11))  # nobody acknowledged any of the three
    assert any(set(refs) <= batch for batch in batches), batches
    assert not set(single) & set(refs), "no timer read its request on its own"
    assert night.sender.inbox("ds.kellow"), "the backup was still paged"


async def test_a_retry_reads_the_store_not_the_early_copy(night: Night) -> None:
    found = REF.search(texts(await night.request("amara.okafor")))
    assert found
    ref = found.group(0)
    services = night.engine.services
    early = await night.engine.store.get_request(ref)
    assert early is not None
    services.ahead[ref] = Versioned({**early.data, "state": "stale"}, early.version)
    first = await services.read_request(ref)
    assert first is not None and first.data["state"] == "stale", "the first job takes the copy"
    again = await services.read_request(ref)
    assert again is not None and again.data["state"] != "stale", "taken once, then the store"
