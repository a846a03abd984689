"""The unit of work, the inbox and the outbox: one contract, run against SQLite and Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from store.audit import verify
from store.base import (
    AuditDraft,
    Change,
    Conflict,
    Duplicate,
    Job,
    Outgoing,
    Seen,
    Store,
    UnitOfWork,
)
from tests.store.conftest import Backend

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
NOW = T0.timestamp()
CANARY = "Zqxjvonkle"


def doc(ref: str, state: str = "submitted", **extra: Any) -> dict[str, Any]:
    return {"ref": ref, "state": state, "requester": "off-1", **extra}


def out(
    entry_id: str, recipient: str, lease: str = "", due: float = 0.0, queued: float = 0.0
) -> Outgoing:
    payload = {"to": recipient, "text": f"{CANARY} {entry_id}"}
    return Outgoing(entry_id, recipient, payload, due, 0, lease, queued_at=queued)


def audit(action: str, ref: str = "R1") -> AuditDraft:
    return AuditDraft(T0, "off-1", action, ref, {"n": 1})


async def leased_job(store: Store, job_id: str = "j1") -> Job:
    await store.schedule(Job(job_id, "spoc_ack", NOW - 1, {"ref": "R1"}))
    [claimed] = await store.claim(NOW, 60, 10)
    return claimed


# commit -----------------------------------------------------------------------------------


async def test_commit_writes_everything_together(store: Store) -> None:
    job = await leased_job(store)
    await store.schedule(Job("old", "spoc_ack", NOW + 100))
    work = UnitOfWork(
        done=job,
        sessions=[Change("web::a", {"state": "reviewing", "answers": {"x": CANARY}}, 0)],
        requests=[Change("R1", doc("R1", answers={"summary": CANARY}), 0)],
        cancel=["old"],
        schedule=[Job("next", "spoc_ack", NOW + 600, {"ref": "R1"})],
        outbox=[out("m1", "officer:a"), out("m2", "channel")],
        audit=[audit("request.submitted"), audit("request.paged")],
    )
    await store.commit(work)
    session = await store.get_session("web::a")
    assert session is not None and session.version == 1
    assert session.data["answers"] == {"x": CANARY}
    request = await store.get_request("R1")
    assert request is not None and request.version == 1
    assert [j.id for j in await store.pending_jobs()] == ["next"]
    entries = await store.outbox_entries()
    assert [(e.id, e.recipient) for e in entries] == [("m1", "officer:a"), ("m2", "channel")]
    assert entries[0].payload["text"] == f"{CANARY} m1"
    assert entries[0].seq < entries[1].seq
    chain = await store.audit_entries()
    assert [e.action for e in chain] == ["request.submitted", "request.paged"]
    assert verify(chain).ok


async def test_a_stale_version_writes_nothing(store: Store) -> None:
    await store.commit(UnitOfWork(requests=[Change("R1", doc("R1"), 0)]))
    await store.commit(UnitOfWork(requests=[Change("R1", doc("R1", "paged"), 1)]))
    stale = UnitOfWork(
        requests=[Change("R1", doc("R1", "approved"), 1)],
        schedule=[Job("j", "k", NOW)],
        outbox=[out("m1", "channel")],
        audit=[audit("request.approved")],
    )
    with pytest.raises(Conflict):
        await store.commit(stale)
    request = await store.get_request("R1")
    assert request is not None and (request.version, request.data["state"]) == (2, "paged")
    assert await store.pending_jobs() == []
    assert await store.outbox_entries() == []
    assert await store.audit_entries() == []


async def test_creating_what_exists_is_a_conflict(store: Store) -> None:
    await store.commit(UnitOfWork(sessions=[Change("k", {"state": "a"}, 0)]))
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(sessions=[Change("k", {"state": "b"}, 0)]))
    await store.commit(UnitOfWork(requests=[Change("R1", doc("R1"), 0)]))
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(requests=[Change("R1", doc("R1"), 0)]))
    session = await store.get_session("k")
    assert session is not None and session.data == {"state": "a"}


async def test_a_lost_lease_writes_nothing(store: Store) -> None:
    job = await leased_job(store)
    # The lease ran out and another worker claimed the job meanwhile.
    [again] = await store.claim(NOW + 120, 60, 10)
    assert again.lease != job.lease
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(done=job, outbox=[out("m1", "channel")]))
    assert await store.outbox_entries() == []
    await store.commit(UnitOfWork(done=again, outbox=[out("m1", "channel")]))
    assert await store.get_job("j1") is None


async def test_a_unit_that_only_completes_its_job_checks_the_lease_too(store: Store) -> None:
    """(Redis sends such a unit as the small completion script.)"""
    job = await leased_job(store)
    [again] = await store.claim(NOW + 120, 60, 10)
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(done=job))
    assert await store.get_job("j1") is not None, "the new claim still holds it"
    await store.commit(UnitOfWork(done=again))
    assert await store.get_job("j1") is None


async def test_a_job_may_reschedule_its_own_id(store: Store) -> None:
    job = await leased_job(store, "digest")
    await store.commit(UnitOfWork(done=job, schedule=[Job("digest", "ig_digest", NOW + 86400)]))
    again = await store.get_job("digest")
    assert again is not None and (again.due_at, again.lease, again.attempts) == (NOW + 86400, "", 0)


async def test_one_of_concurrent_commits_from_one_version_wins(store: Store) -> None:
    await store.commit(UnitOfWork(requests=[Change("R1", doc("R1", "paged"), 0)]))

    async def decide(n: int) -> bool:
        work = UnitOfWork(
            requests=[Change("R1", doc("R1", "approved", by=n), 1)],
            outbox=[out(f"m{n}", "channel")],
            audit=[audit(f"request.approved.{n}")],
        )
        try:
            await store.commit(work)
        except Conflict:
            return False
        return True

    results = await asyncio.gather(*(decide(n) for n in range(10)))
    assert results.count(True) == 1
    assert len(await store.outbox_entries()) == 1
    assert len(await store.audit_entries()) == 1


async def test_commits_sent_together_survive_a_refused_one_among_them(store: Store) -> None:
    """Concurrent commits with audit entries are linked and sent together (Redis: one
    pipeline); one refused in the middle must not take the others with it."""
    refs = [f"R{n}" for n in range(8)]
    for ref in refs:
        await store.commit(UnitOfWork(requests=[Change(ref, doc(ref), 0)]))

    async def update(n: int, ref: str) -> bool:
        stale = 7 if n == 3 else 1
        work = UnitOfWork(
            requests=[Change(ref, doc(ref, "paged"), stale)],
            outbox=[out(f"m{n}", f"officer:{n}")],
            audit=[audit(f"request.paged.{n}", ref)],
        )
        try:
            await store.commit(work)
        except Conflict:
            return False
        return True

    results = await asyncio.gather(*(update(n, ref) for n, ref in enumerate(refs)))
    assert results == [n != 3 for n in range(8)]
    chain = await store.audit_entries()
    assert verify(chain).ok and len(chain) == 7
    assert {e.action for e in chain} == {f"request.paged.{n}" for n in range(8) if n != 3}
    assert len(await store.outbox_entries()) == 7


async def test_commits_sent_together_after_redis_forgot_its_scripts(backend: Backend) -> None:
    if backend.name != "redis":
        return  # SQLite has no script cache
    import redis

    store = await backend.open()
    redis.Redis.from_url(backend.url).script_flush()
    await asyncio.gather(
        *(store.commit(UnitOfWork(audit=[audit(f"a{n}"), audit(f"b{n}")])) for n in range(12))
    )
    chain = await store.audit_entries()
    assert verify(chain).ok and len(chain) == 24


async def test_audit_chain_stays_whole_across_stores(backend: Backend) -> None:
    """Two processes (two store objects) append through commits and plain appends at once."""
    first, second = await backend.open(), await backend.open()

    async def write(store: Store, n: int) -> None:
        if n % 2:
            await store.commit(UnitOfWork(audit=[audit(f"a{n}"), audit(f"b{n}")]))
        else:
            await store.append_audit(T0, "x", f"c{n}", "R1", {})

    await asyncio.gather(*(write(first if n % 3 else second, n) for n in range(30)))
    chain = await first.audit_entries()
    assert len(chain) == 45
    assert verify(chain).ok
    assert [e.seq for e in chain] == list(range(1, 46))


async def test_outbox_payload_is_encrypted_at_rest(backend: Backend) -> None:
    store = await backend.open()
    await store.commit(UnitOfWork(outbox=[out("m1", "officer:a")]))
    assert CANARY.encode() not in backend.raw.raw_bytes()


# the inbox --------------------------------------------------------------------------------


async def test_receive_stores_once_and_leases_to_the_receiver(backend: Backend) -> None:
    store = await backend.open()
    job = Job("inbound:slack:Ev1", "inbound", NOW + 60, {"platform": "slack"}, 0, "mine")
    event = {"text": f"{CANARY} hello"}
    got = await store.receive(job, "slack:Ev1", 3600, NOW, event)
    assert got is not None and got.payload == {"platform": "slack", "event": event}
    assert await store.receive(job, "slack:Ev1", 3600, NOW + 1, event) is None
    assert CANARY.encode() not in backend.raw.raw_bytes()
    # Nobody else can claim it while the receiver's lease runs …
    assert await store.claim(NOW + 30, 60, 10) == []
    # … and once it has run out (the receiver died) it is claimed with the event opened.
    [claimed] = await store.claim(NOW + 61, 60, 10)
    assert claimed.id == job.id and claimed.payload["event"] == event
    assert [j.payload["event"] for j in await store.pending_jobs()] == [event]
    await store.commit(UnitOfWork(done=claimed))
    assert await store.pending_jobs() == []
    # Still a duplicate after it was handled, until the mark expires.
    assert await store.receive(job, "slack:Ev1", 3600, NOW + 100, event) is None
    assert await store.receive(job, "slack:Ev1", 3600, NOW + 3700, event) is not None


async def test_receive_done_in_the_same_commit_as_the_state(store: Store) -> None:
    job = Job("inbound:web:1", "inbound", NOW + 60, {}, 0, "mine")
    got = await store.receive(job, "web:1", 3600, NOW, {"text": "hi"})
    assert got is not None
    await store.commit(UnitOfWork(done=got, sessions=[Change("web::a", {"state": "x"}, 0)]))
    assert await store.get_job(job.id) is None
    with pytest.raises(Conflict):  # processed once: a second commit for it is refused
        await store.commit(UnitOfWork(done=got, sessions=[Change("web::b", {"state": "x"}, 0)]))
    assert await store.get_session("web::b") is None


async def test_an_event_handled_at_once_is_marked_in_the_same_commit(store: Store) -> None:
    """An event handled without the inbox: its delivery mark is part of the unit, so a
    redelivery is refused whole and no inbox entry is ever left behind."""
    seen = Seen("slack:Ev7", NOW + 3600, NOW)
    session = Change("slack:T1:U1", {"state": "collecting", "answers": {"x": CANARY}}, 0)
    committed = await store.commit(
        UnitOfWork(seen=seen, sessions=[session], outbox=[out("m1", "conversation:a", "me", NOW)])
    )
    assert [e.id for e in committed.fast] == ["m1"]
    again = UnitOfWork(
        seen=Seen("slack:Ev7", NOW + 3601, NOW + 1),
        sessions=[Change("slack:T1:U2", {"state": "x"}, 0)],
        audit=[audit("event.again")],
    )
    with pytest.raises(Duplicate):
        await store.commit(again)
    assert await store.get_session("slack:T1:U2") is None
    assert await store.audit_entries() == []
    assert await store.pending_jobs() == []
    # The inbox knows the mark too: the same event arriving there is a duplicate …
    job = Job("inbound:slack:Ev7", "inbound", NOW + 60, {}, 0, "mine")
    assert await store.receive(job, "slack:Ev7", 3600, NOW + 2, {"text": "hi"}) is None
    # … until the mark runs out.
    later = UnitOfWork(seen=Seen("slack:Ev7", NOW + 7300, NOW + 3700), audit=[audit("late")])
    await store.commit(later)
    assert [e.action for e in await store.audit_entries()] == ["late"]


async def test_a_refused_unit_leaves_its_event_unmarked(store: Store) -> None:
    """A unit refused for a stale version sets no delivery mark: the step runs again."""
    await store.commit(UnitOfWork(sessions=[Change("web::a", {"state": "x"}, 0)]))
    stale = UnitOfWork(
        seen=Seen("web:e1", NOW + 3600, NOW), sessions=[Change("web::a", {"state": "y"}, 0)]
    )
    with pytest.raises(Conflict):
        await store.commit(stale)
    fresh = UnitOfWork(
        seen=Seen("web:e1", NOW + 3600, NOW), sessions=[Change("web::a", {"state": "y"}, 1)]
    )
    await store.commit(fresh)
    stored = await store.get_session("web::a")
    assert stored is not None and stored.data == {"state": "y"}


# the outbox -------------------------------------------------------------------------------


async def test_fast_path_keeps_the_lease_only_for_recipients_with_nothing_pending(
    store: Store,
) -> None:
    await store.commit(UnitOfWork(outbox=[out("old", "officer:a")]))
    committed = await store.commit(
        UnitOfWork(
            outbox=[
                out("a2", "officer:a", "L", NOW + 30),
                out("b1", "officer:b", "L", NOW + 30),
                out("b2", "officer:b", "L", NOW + 30),
            ]
        )
    )
    assert [e.id for e in committed.fast] == ["b1", "b2"]
    assert all(e.seq > 0 for e in committed.fast)
    # The held entries are not claimable; a's queue starts with the old entry.
    claimed = await store.claim_outbox(NOW, 60, 10)
    assert [e.id for e in claimed] == ["old"]
    await store.complete_outbox(committed.fast)
    await store.complete_outbox(claimed)
    [next_a] = await store.claim_outbox(NOW, 60, 10)
    assert next_a.id == "a2"


async def test_an_entry_without_the_lease_is_due_from_its_commit(store: Store) -> None:
    await store.commit(UnitOfWork(outbox=[out("old", "officer:a", queued=NOW - 50)]))
    await store.commit(UnitOfWork(outbox=[out("a2", "officer:a", "L", NOW + 30, NOW - 10)]))
    assert [(e.id, e.due_at, e.lease) for e in await store.outbox_entries()] == [
        ("old", NOW - 50, ""),
        ("a2", NOW - 10, ""),  # queued behind "old": the lease and its due time are dropped
    ]
    assert await store.claim_outbox(NOW - 51, 60, 10) == []
    assert [e.id for e in await store.claim_outbox(NOW - 50, 60, 10)] == ["old"]


async def test_pending_outbox_reads_only_the_entries_asked_for_that_are_still_there(
    store: Store,
) -> None:
    committed = await store.commit(
        UnitOfWork(outbox=[out("m1", "to:a", "L", NOW + 30), out("m2", "to:a"), out("m3", "to:b")])
    )
    assert await store.pending_outbox([]) == []
    found = await store.pending_outbox(["m3", "m1", "gone", "m1"])
    assert [(e.id, e.recipient, e.lease) for e in found] == [
        ("m1", "to:a", "L"),
        ("m3", "to:b", ""),
    ]
    assert found[0].payload == {"to": "to:a", "text": f"{CANARY} m1"}
    assert found[0].due_at == NOW + 30 and found[0].seq < found[1].seq
    await store.complete_outbox(committed.fast)
    assert [e.id for e in await store.pending_outbox(["m1", "m2"])] == ["m2"]


async def test_claim_outbox_is_in_order_per_recipient(store: Store) -> None:
    await store.commit(
        UnitOfWork(outbox=[out(f"{r}{n}", f"to:{r}") for n in range(3) for r in "xyz"])
    )
    sent: list[str] = []
    for _ in range(5):
        batch = await store.claim_outbox(NOW, 60, 10)
        if not batch:
            break
        assert len({e.recipient for e in batch}) == len(batch)  # one head per recipient
        sent += [e.id for e in batch]
        await store.complete_outbox(batch)
    for r in "xyz":
        assert [i for i in sent if i[0] == r] == [f"{r}0", f"{r}1", f"{r}2"]
    assert await store.outbox_entries() == []


async def test_a_failing_head_holds_its_recipient_back(store: Store) -> None:
    await store.commit(UnitOfWork(outbox=[out("x0", "to:x"), out("x1", "to:x"), out("y0", "to:y")]))
    claimed = {e.id: e for e in await store.claim_outbox(NOW, 60, 10)}
    assert set(claimed) == {"x0", "y0"}
    assert await store.retry_outbox(claimed["x0"], NOW + 30, max_attempts=3)
    await store.complete_outbox([claimed["y0"]])
    assert await store.claim_outbox(NOW + 10, 60, 10) == []  # x1 waits behind x0
    [retried] = await store.claim_outbox(NOW + 30, 60, 10)
    assert (retried.id, retried.attempts) == ("x0", 2)


async def test_expired_lease_is_claimed_again(store: Store) -> None:
    committed = await store.commit(UnitOfWork(outbox=[out("m1", "to:x", "L", NOW + 30)]))
    assert [e.id for e in committed.fast] == ["m1"]
    assert await store.claim_outbox(NOW + 29, 60, 10) == []
    [again] = await store.claim_outbox(NOW + 31, 60, 10)
    assert again.id == "m1" and again.lease not in ("", "L")
    await store.complete_outbox(committed.fast)  # the dead holder's late mark changes nothing
    assert [e.id for e in await store.outbox_entries()] == ["m1"]


async def test_dead_letter_after_max_attempts(store: Store) -> None:
    await store.commit(UnitOfWork(outbox=[out("m1", "to:x"), out("m2", "to:x")]))
    for attempt in range(1, 4):
        [entry] = await store.claim_outbox(NOW + attempt * 100, 60, 10)
        assert entry.id == "m1" and entry.attempts == attempt
        kept = await store.retry_outbox(entry, NOW + attempt * 100 + 1, max_attempts=3)
        assert kept is (attempt < 3)
    assert [e.id for e in await store.dead_outbox()] == ["m1"]
    assert (await store.dead_outbox())[0].payload["text"] == f"{CANARY} m1"
    [entry] = await store.claim_outbox(NOW + 1000, 60, 10)
    assert entry.id == "m2"  # the dead one no longer holds the queue


async def test_concurrent_dispatchers_send_each_entry_once(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    await stores[0].commit(UnitOfWork(outbox=[out(f"m{n}", f"to:{n % 7}") for n in range(60)]))
    sent: Counter[str] = Counter()

    async def dispatch(store: Store) -> None:
        for _ in range(60):
            batch = await store.claim_outbox(NOW, 60, 5)
            if not batch:
                await asyncio.sleep(0.005)
                if not await store.outbox_entries():
                    return
                continue
            sent.update(e.id for e in batch)
            await store.complete_outbox(batch)

    await asyncio.gather(*(dispatch(s) for s in stores))
    assert sent == Counter({f"m{n}": 1 for n in range(60)})


async def test_key_rotation_reseals_inbox_and_outbox(backend: Backend) -> None:
    from store.crypto import Cipher, generate_key

    old_key, new_key = generate_key(), generate_key()
    old = await backend.open(Cipher.from_strings([old_key]))
    job = Job("inbound:web:9", "inbound", NOW + 60, {}, 0, "mine")
    await old.receive(job, "web:9", 3600, NOW, {"text": CANARY})
    await old.commit(UnitOfWork(outbox=[out("m1", "to:x"), out("m2", "to:y")]))
    [dying] = [e for e in await old.claim_outbox(NOW, 60, 10) if e.id == "m2"]
    assert not await old.retry_outbox(dying, NOW, max_attempts=1)
    both = await backend.open(Cipher.from_strings([new_key, old_key]))
    assert await both.reencrypt() == 3
    assert await both.reencrypt() == 0
    only_new = await backend.open(Cipher.from_strings([new_key]))
    [pending] = await only_new.pending_jobs()
    assert pending.payload["event"] == {"text": CANARY}
    assert [e.id for e in await only_new.outbox_entries()] == ["m1"]
    assert [e.id for e in await only_new.dead_outbox()] == ["m2"]


# indexes ----------------------------------------------------------------------------------


def refs(found: list[Any]) -> list[str]:
    return [v.data["ref"] for v in found]


async def test_requests_are_found_by_state_and_requester(store: Store) -> None:
    rows = [
        ("A/1/2026", "paged", "ann"),
        ("A/2/2026", "info_requested", "ann"),
        ("A/3/2026", "closed", "ann"),
        ("A/4/2026", "paged", "bob"),
    ]
    for ref, state, who in rows[:2]:
        await store.create_request(ref, {**doc(ref, state), "requester": who})
    await store.commit(
        UnitOfWork(requests=[Change(r, {**doc(r, s), "requester": w}, 0) for r, s, w in rows[2:]])
    )
    assert refs(await store.list_requests(states=["paged"])) == ["A/1/2026", "A/4/2026"]
    assert refs(await store.list_requests(requester="ann")) == ["A/1/2026", "A/2/2026", "A/3/2026"]
    mine = await store.list_requests(requester="ann", states=["paged", "info_requested"])
    assert refs(mine) == ["A/1/2026", "A/2/2026"]
    assert refs(await store.list_requests(["closed"], requester="ann")) == ["A/1/2026", "A/2/2026"]
    assert await store.list_requests(states=[]) == []
    # A state change moves the request between the indexes, through either write path.
    assert await store.update_request(
        "A/1/2026", {**doc("A/1/2026", "closed"), "requester": "ann"}, 1
    )
    await store.commit(
        UnitOfWork(
            requests=[Change("A/4/2026", {**doc("A/4/2026", "approved"), "requester": "bob"}, 1)]
        )
    )
    assert await store.list_requests(states=["paged"]) == []
    assert refs(await store.list_requests(states=["closed"])) == ["A/1/2026", "A/3/2026"]
    assert refs(await store.list_requests(requester="bob", states=["approved"])) == ["A/4/2026"]


async def test_one_requests_audit_entries_come_from_its_own_index(store: Store) -> None:
    await store.commit(UnitOfWork(audit=[audit("a", "R1"), audit("b", "R2"), audit("c", "")]))
    await store.append_audit(T0, "x", "d", "R1", {})
    assert [e.action for e in await store.audit_entries("R1")] == ["a", "d"]
    assert [e.action for e in await store.audit_entries("R2")] == ["b"]
    assert [e.action for e in await store.audit_entries()] == ["a", "b", "c", "d"]


# the web console's boxes ----------------------------------------------------------------------


async def test_console_boxes_keep_the_newest_entries_sealed(backend: Backend) -> None:
    store = await backend.open()
    for n in range(5):
        await store.save_console_entry("amara", f"e{n}", {"text": f"{CANARY} {n}"}, keep=3)
    await store.save_console_entry("amara", "e3", {"text": "updated in place"}, keep=3)
    await store.save_console_entry("channel", "c1", {"text": "card"}, keep=3)
    texts = [e["text"] for e in await store.console_entries("amara")]
    assert texts == [f"{CANARY} 2", "updated in place", f"{CANARY} 4"]
    assert [e["text"] for e in await store.console_entries("channel")] == ["card"]
    assert await store.console_entries("nobody") == []
    other = await backend.open()  # another process sees the same boxes
    assert [e["text"] for e in await other.console_entries("amara")] == texts
    assert CANARY.encode() not in backend.raw.raw_bytes()


async def test_a_batch_of_requests_is_read_at_once(store: Store) -> None:
    for ref in ("R1", "R2", "R3"):
        await store.commit(UnitOfWork(requests=[Change(ref, doc(ref, answers={"x": ref}), 0)]))
    found = await store.get_requests(["R3", "R1", "missing", "R1"])
    assert sorted((v.data["ref"], v.data["answers"]["x"], v.version) for v in found) == [
        ("R1", "R1", 1),
        ("R3", "R3", 1),
    ]
    assert await store.get_requests([]) == []
