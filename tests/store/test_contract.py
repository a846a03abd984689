"""One contract suite, run against SQLite and Redis alike."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store.audit import verify
from store.base import AlreadyExists, Job, LockTimeout, Store, StoreError
from store.crypto import Cipher, DecryptionError, generate_key
from tests.store.conftest import KEY_A, Backend, forged_after

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
CANARIES = (b"Zqxjvonkle", b"1979-02-30", b"17 Quillon Mews")


def request_doc(ref: str, **extra: Any) -> dict[str, Any]:
    return {"ref": ref, "state": "submitted", "requester": "off-1", **extra}


# sessions and locks -------------------------------------------------------------------------


async def test_session_round_trip(store: Store) -> None:
    assert await store.load_session("slack:T1:U1") is None
    await store.save_session("slack:T1:U1", {"state": "collecting", "answers": {"a": 1}})
    assert await store.load_session("slack:T1:U1") == {"state": "collecting", "answers": {"a": 1}}
    await store.delete_session("slack:T1:U1")
    assert await store.load_session("slack:T1:U1") is None


async def test_lock_is_exclusive(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    inside, peak = 0, 0

    async def critical(store: Store) -> None:
        nonlocal inside, peak
        async with store.lock("session:x", ttl=5, wait=5):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(critical(stores[i % 3]) for i in range(9)))
    assert peak == 1


async def test_lock_released_on_error(store: Store) -> None:
    with pytest.raises(ValueError):
        async with store.lock("session:x"):
            raise ValueError("boom")
    async with store.lock("session:x", wait=0.1):
        pass


async def test_lock_timeout(store: Store) -> None:
    async with store.lock("session:x"):
        started = time.monotonic()
        with pytest.raises(LockTimeout):
            async with store.lock("session:x", wait=0.2):
                pass
        assert 0.15 < time.monotonic() - started < 2


async def test_lock_expires_after_ttl_and_stale_release_is_harmless(store: Store) -> None:
    dead = store.lock("session:x", ttl=0.3)
    await dead.__aenter__()  # the holder "dies" here
    started = time.monotonic()
    async with store.lock("session:x", ttl=10, wait=5):
        assert time.monotonic() - started >= 0.2
        await dead.__aexit__(None, None, None)  # a late release must not free our lock
        with pytest.raises(LockTimeout):
            async with store.lock("session:x", wait=0.1):
                pass


# requests -----------------------------------------------------------------------------------


async def test_create_get_update_with_cas(store: Store) -> None:
    assert await store.get_request("DPT/1/2026") is None
    await store.create_request("DPT/1/2026", request_doc("DPT/1/2026", answers={"x": "y"}))
    with pytest.raises(AlreadyExists):
        await store.create_request("DPT/1/2026", request_doc("DPT/1/2026"))
    stored = await store.get_request("DPT/1/2026")
    assert stored is not None and stored.version == 1
    assert stored.data == request_doc("DPT/1/2026", answers={"x": "y"})
    assert await store.update_request("DPT/1/2026", request_doc("DPT/1/2026", state="paged"), 1)
    assert not await store.update_request("DPT/1/2026", request_doc("DPT/1/2026"), 1)
    assert not await store.update_request("DPT/9/2026", request_doc("DPT/9/2026"), 1)
    again = await store.get_request("DPT/1/2026")
    assert again is not None and again.version == 2 and again.data["state"] == "paged"
    assert [v.data["ref"] for v in await store.list_requests()] == ["DPT/1/2026"]


async def test_list_leaves_out_excluded_states(store: Store) -> None:
    for ref, state in (("A/1/2026", "paged"), ("A/2/2026", "closed"), ("A/3/2026", "withdrawn")):
        await store.create_request(ref, request_doc(ref, state=state))
    ended = ("closed", "withdrawn")
    assert [v.data["ref"] for v in await store.list_requests(ended)] == ["A/1/2026"]
    assert await store.update_request("A/1/2026", request_doc("A/1/2026", state="closed"), 1)
    assert await store.list_requests(ended) == []
    assert len(await store.list_requests()) == 3


async def test_concurrent_cas_exactly_one_wins(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(4)]
    await stores[0].create_request("R/1/2026", request_doc("R/1/2026"))
    results = await asyncio.gather(
        *(
            stores[i % 4].update_request("R/1/2026", request_doc("R/1/2026", n=i), 1)
            for i in range(20)
        )
    )
    assert results.count(True) == 1
    final = await stores[0].get_request("R/1/2026")
    assert final is not None and final.version == 2
    assert final.data["n"] == results.index(True)


async def test_concurrent_reference_numbers_are_consecutive(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(4)]
    numbers = await asyncio.gather(
        *(stores[i % 4].next_reference_number("DPT", 2026) for i in range(50))
    )
    assert sorted(numbers) == list(range(1, 51))


async def test_reference_numbers_per_prefix_and_year(store: Store) -> None:
    assert await store.next_reference_number("DPT", 2026) == 1
    assert await store.next_reference_number("DPT", 2026) == 2
    assert await store.next_reference_number("CC", 2026) == 1
    assert await store.next_reference_number("DPT", 2027) == 1
    assert await store.next_reference_number("DPT", 2026) == 3


# jobs ---------------------------------------------------------------------------------------


async def test_schedule_replaces_same_id(store: Store) -> None:
    await store.schedule(Job("ack:R1", "spoc_ack", 100.0, {"ref": "R1"}))
    [claimed] = await store.claim(100.0, 30.0, 10)
    assert claimed.attempts == 1 and claimed.lease
    await store.schedule(Job("ack:R1", "spoc_ack", 200.0, {"ref": "R1", "round": 2}))
    assert await store.get_job("ack:R1") == Job(
        "ack:R1", "spoc_ack", 200.0, {"ref": "R1", "round": 2}
    )
    assert len(await store.pending_jobs()) == 1
    await store.complete(claimed)  # the stale claim must not delete the new schedule
    assert await store.get_job("ack:R1") is not None


async def test_cancel(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0))
    await store.cancel("j")
    await store.cancel("never-existed")
    assert await store.get_job("j") is None
    assert await store.claim(100.0, 30.0, 10) == []


async def test_claim_only_due_jobs(store: Store) -> None:
    for n in (10, 20, 30):
        await store.schedule(Job(f"j{n}", "k", float(n)))
    claimed = await store.claim(20.0, 60.0, 10)
    assert sorted(j.id for j in claimed) == ["j10", "j20"]
    assert all(j.due_at == 80.0 and j.attempts == 1 for j in claimed)
    assert await store.claim(20.0, 60.0, 10) == []
    assert [j.id for j in await store.claim(30.0, 60.0, 10)] == ["j30"]


async def test_claim_respects_limit(store: Store) -> None:
    for n in range(5):
        await store.schedule(Job(f"j{n}", "k", float(n)))
    assert len(await store.claim(10.0, 60.0, 3)) == 3
    assert len(await store.claim(10.0, 60.0, 3)) == 2


async def test_complete(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0, {"ref": "R"}))
    [job] = await store.claim(10.0, 30.0, 10)
    assert job.payload == {"ref": "R"}
    await store.complete(job)
    assert await store.get_job("j") is None
    assert await store.pending_jobs() == []


async def test_retry_runs_later(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0))
    [job] = await store.claim(10.0, 30.0, 10)
    assert await store.retry(job, 50.0, max_attempts=5)
    assert await store.claim(49.0, 30.0, 10) == []
    [again] = await store.claim(50.0, 30.0, 10)
    assert again.attempts == 2 and again.lease != job.lease


async def test_dead_letter_after_max_attempts(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0, {"ref": "R"}))
    [first] = await store.claim(10.0, 30.0, 10)
    assert await store.retry(first, 20.0, max_attempts=2)
    [second] = await store.claim(20.0, 30.0, 10)
    assert not await store.retry(second, 30.0, max_attempts=2)
    assert await store.pending_jobs() == []
    [dead] = await store.dead_letters()
    assert (dead.id, dead.kind, dead.attempts, dead.payload) == ("j", "k", 2, {"ref": "R"})


async def test_unfinished_claim_reappears_after_lease(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0))
    [first] = await store.claim(10.0, 30.0, 10)
    assert await store.claim(39.9, 30.0, 10) == []
    [second] = await store.claim(40.0, 30.0, 10)
    assert second.attempts == 2 and second.lease != first.lease
    await store.complete(first)  # the late original worker finishing must not count
    assert await store.get_job("j") is not None
    await store.complete(second)
    assert await store.get_job("j") is None


async def _work(store: Store, now: float, done: Counter[str]) -> None:
    while claimed := await store.claim(now, 600.0, 50):
        for job in claimed:
            done[job.id] += 1
            await store.complete(job)


async def test_four_workers_complete_every_job_once(backend: Backend) -> None:
    setup = await backend.open()
    for n in range(1000):
        await setup.schedule(Job(f"job:{n}", "k", float(n % 100)))
    workers = [await backend.open() for _ in range(4)]
    done: Counter[str] = Counter()
    await asyncio.gather(*(_work(w, 1000.0, done) for w in workers))
    assert set(done) == {f"job:{n}" for n in range(1000)}
    assert set(done.values()) == {1}  # a live lease is never handed out twice
    assert await setup.pending_jobs() == []


async def test_dead_workers_jobs_are_redelivered(backend: Backend) -> None:
    dying, survivor = await backend.open(), await backend.open()
    for n in range(10):
        await dying.schedule(Job(f"j{n}", "k", 100.0))
    assert len(await dying.claim(100.0, 30.0, 50)) == 10  # ...and never completes
    assert await survivor.claim(110.0, 30.0, 50) == []
    redelivered = await survivor.claim(130.0, 30.0, 50)
    assert sorted(j.id for j in redelivered) == sorted(f"j{n}" for n in range(10))
    assert {j.attempts for j in redelivered} == {2}
    for job in redelivered:
        await survivor.complete(job)
    assert await survivor.pending_jobs() == []


# de-duplication, addresses, handles ------------------------------------------------------


async def test_seen(store: Store) -> None:
    assert not await store.seen("ev1", 10.0, now=100.0)
    assert await store.seen("ev1", 10.0, now=105.0)
    assert not await store.seen("ev2", 10.0, now=105.0)
    assert not await store.seen("ev1", 10.0, now=111.0)
    assert await store.seen("ev1", 10.0, now=115.0)


async def test_addresses_and_handles(store: Store) -> None:
    assert await store.load_address("teams", "aad-1") is None
    address = {"conversation": {"id": "a:1"}, "service_url": "https://smba.example"}
    await store.save_address("teams", "aad-1", address)
    assert await store.load_address("teams", "aad-1") == address
    assert await store.load_address("slack", "aad-1") is None
    assert await store.handles("card:R1") == []
    await store.add_handle("card:R1", {"channel": "C1", "ts": "1.1"})
    await store.add_handle("card:R1", {"channel": "D2", "ts": "2.2"})
    assert await store.handles("card:R1") == [
        {"channel": "C1", "ts": "1.1"},
        {"channel": "D2", "ts": "2.2"},
    ]


# audit --------------------------------------------------------------------------------------


async def _chain(store: Store, n: int = 6) -> None:
    for i in range(n):
        ref = f"R/{i % 2}/2026"
        details = {"step": i, "nested": {"ok": True}}
        await store.append_audit(
            T0 + timedelta(minutes=i), f"off-{i}", "request.step", ref, details
        )


async def test_audit_chain_appends_and_verifies(store: Store) -> None:
    await _chain(store)
    entries = await store.audit_entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[1].prev_hash == entries[0].hash
    assert entries[0].details == {"step": 0, "nested": {"ok": True}}
    assert verify(entries).ok
    assert [e.seq for e in await store.audit_entries("R/1/2026")] == [2, 4, 6]


async def test_concurrent_audit_appends_keep_one_chain(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(4)]
    await asyncio.gather(
        *(stores[i % 4].append_audit(T0, "a", "x", "R", {"i": i}) for i in range(20))
    )
    entries = await stores[0].audit_entries()
    assert [e.seq for e in entries] == list(range(1, 21))
    assert verify(entries).ok


async def test_audit_tamper_edit(store: Store, backend: Backend) -> None:
    await _chain(store)
    backend.raw.edit_audit_details(3, {"step": 99, "nested": {"ok": True}})
    result = verify(await store.audit_entries())
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "edited" in result.reason


async def test_audit_tamper_delete(store: Store, backend: Backend) -> None:
    await _chain(store)
    backend.raw.delete_audit(3)
    result = verify(await store.audit_entries())
    assert (result.ok, result.first_bad_seq) == (False, 3)


async def test_audit_tamper_insert_forged(store: Store, backend: Backend) -> None:
    await _chain(store)
    entries = await store.audit_entries()
    backend.raw.insert_forged_audit(3, forged_after(entries[1]))
    result = verify(await store.audit_entries())
    # The forged entry itself is well formed; the original third entry no longer fits.
    assert (result.ok, result.first_bad_seq) == (False, 4)


async def test_audit_tamper_swap(store: Store, backend: Backend) -> None:
    await _chain(store)
    backend.raw.swap_audit(3, 4)
    result = verify(await store.audit_entries())
    assert (result.ok, result.first_bad_seq) == (False, 3)


# encryption at rest -------------------------------------------------------------------------


async def test_key_rotation(backend: Backend) -> None:
    key_b = generate_key()
    old = await backend.open(Cipher.from_strings([KEY_A]))
    await old.save_session("s1", {"answers": {"subject.last_name": "Example"}})
    await old.create_request("R/1/2026", request_doc("R/1/2026", answers={"q": "a"}))
    await old.create_request("R/2/2026", request_doc("R/2/2026"))  # nothing sealed

    both = await backend.open(Cipher.from_strings([key_b, KEY_A]))
    assert await both.load_session("s1") == {"answers": {"subject.last_name": "Example"}}
    assert await both.reencrypt() == 2
    assert await both.reencrypt() == 0

    only_b = await backend.open(Cipher.from_strings([key_b]))
    assert await only_b.load_session("s1") == {"answers": {"subject.last_name": "Example"}}
    stored = await only_b.get_request("R/1/2026")
    assert stored is not None and stored.data["answers"] == {"q": "a"} and stored.version == 1
    with pytest.raises(DecryptionError):
        await old.get_request("R/1/2026")  # key A alone can no longer read it


async def test_personal_data_never_reaches_storage_in_clear(store: Store, backend: Backend) -> None:
    answers = {
        "subject.last_name": "Zqxjvonkle",
        "subject.dob": "1979-02-30",
        "subject.address": "17 Quillon Mews",
    }
    doc = request_doc("DPT/5/2026", answers=answers, info=[{"question": "Zqxjvonkle?"}])
    await store.create_request("DPT/5/2026", doc)
    await store.update_request(
        "DPT/5/2026", {**doc, "decision_note": "told about Zqxjvonkle"}, expected_version=1
    )
    decision = {"outcome": "approved", "inform_reason": "Zqxjvonkle would flee", "power": []}
    await store.update_request("DPT/5/2026", {**doc, "decision": decision}, expected_version=2)
    await store.save_session("slack:T1:U1", {"answers": answers})
    raw = backend.raw.raw_bytes()
    assert b"DPT/5/2026" in raw  # the scan does see the data...
    assert [c for c in CANARIES if c in raw] == []  # ...but not the personal data


async def test_canary_scan_would_catch_plaintext(store: Store, backend: Backend) -> None:
    # Addresses are not sealed: proves the raw scan can see plaintext on this backend.
    await store.save_address("slack", "U1", {"note": "Zqxjvonkle " * 40})
    assert CANARIES[0] in backend.raw.raw_bytes()


async def test_sealed_blob_moved_to_another_reference_fails(store: Store, backend: Backend) -> None:
    await store.create_request("R/1/2026", request_doc("R/1/2026", answers={"who": "A"}))
    await store.create_request("R/2/2026", request_doc("R/2/2026", answers={"who": "B"}))
    backend.raw.copy_sealed("R/1/2026", "R/2/2026")
    with pytest.raises(StoreError, match="R/2/2026"):
        await store.get_request("R/2/2026")
    assert (await store.get_request("R/1/2026")) is not None


async def test_retry_of_a_rescheduled_job_does_not_bury_it(store: Store) -> None:
    await store.schedule(Job("j", "k", 10.0))
    [claimed] = await store.claim(10.0, 30.0, 10)
    await store.schedule(Job("j", "k", 500.0))
    assert await store.retry(claimed, 20.0, max_attempts=1)
    assert await store.dead_letters() == []
    assert await store.get_job("j") == Job("j", "k", 500.0)


def test_an_older_sqlite_file_gains_the_state_index(tmp_path: Any) -> None:
    """Files written before requests had a state column are migrated on open."""
    import sqlite3

    from store import keys as k
    from store.sqlite import _migrate

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"CREATE TABLE {k.T_REQUESTS} (ref TEXT PRIMARY KEY, version INTEGER, doc TEXT)"
        )
        conn.execute(
            f"INSERT INTO {k.T_REQUESTS} VALUES ('A/1/2026', 1, '{{\"state\": \"closed\"}}')"
        )
        _migrate(conn)
        rows = conn.execute(f"SELECT state FROM {k.T_REQUESTS}").fetchall()
    assert rows == [("closed",)]


async def test_an_older_redis_store_gains_the_request_and_audit_indexes(
    redis_url: str,
) -> None:
    """A store written before the indexes: they are built when it is next opened."""
    import json as _json

    import redis as sync_redis

    from store import keys as k
    from store.redis import RedisStore

    cipher = Cipher.from_strings([KEY_A])
    first = RedisStore(redis_url, cipher)
    await first.open()
    await first.create_request("A/1/2026", request_doc("A/1/2026", state="paged"))
    await first.append_audit(T0, "x", "request.paged", "A/1/2026", {})
    await first.close()
    raw = sync_redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(match="oohbot:requests-*"):
        raw.delete(key)
    for key in raw.scan_iter(match="oohbot:audit-of:*"):
        raw.delete(key)
    raw.set(k.LAYOUT, 2)
    again = RedisStore(redis_url, cipher)
    await again.open()
    found = await again.list_requests(states=["paged"], requester="off-1")
    assert [v.data["ref"] for v in found] == ["A/1/2026"]
    assert [e.action for e in await again.audit_entries("A/1/2026")] == ["request.paged"]
    from store.redis import LAYOUT_VERSION

    assert _json.loads(raw.get(k.LAYOUT) or "0") == LAYOUT_VERSION
    await again.close()
