"""Crypto-shredding, legal holds and the subject-access index on both stores (issue 14).

Time is injected: requests are written as closed at ``CLOSED`` and the retention run is told
what time it is, so six years pass in a line.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from bot import retention, subject
from bot.retention import HoldRefused
from flows.cards import details_message
from flows.request import Request
from flows.retention import Retention, destruction_notice
from store import keys as k
from store.audit import verify
from store.base import Change, Store, UnitOfWork
from store.blind_index import BlindIndex, normalise_name
from store.crypto import Cipher, DecryptionError, generate_key
from store.datakeys import unwrap
from store.keys import REQUEST_AAD, SEALED_FIELD
from tests.store.conftest import KEY_A, Backend

CLOSED = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
CANARY = "Zqxjvonkle"
INDEX = BlindIndex.from_string(generate_key())
PERIODS = Retention()


def request_doc(ref: str, last_name: str = CANARY, dob: str = "1979-02-14", **extra: Any) -> Any:
    """A decided, closed request with personal data in every sealed part."""
    doc = Request(
        ref=ref,
        state="closed",
        requester="amara.okafor",
        org="DPT",
        on_behalf_of="DPT",
        created_at=CLOSED - timedelta(days=3),
        answers={"subject.last_name": last_name, "subject.dob": dob, "summary": "at risk"},
        outcome="approved",
        decided_by="ds.kellow",
        decided_at=CLOSED - timedelta(days=3),
        decision_note=f"Disclosed two cautions of {last_name}",
        response_due_at=CLOSED,
        retro={"details": f"{last_name} was seen"},
        retro_submitted_at=CLOSED,
        closed_at=CLOSED,
    ).model_dump(mode="json")
    return {**doc, **extra}


async def create(store: Store, ref: str, **kwargs: Any) -> None:
    await store.commit(UnitOfWork(requests=[Change(ref, request_doc(ref, **kwargs), 0)]))


def raw_doc(backend: Backend, ref: str) -> dict[str, Any]:
    """The request document exactly as stored (what a copy of the database holds)."""
    if backend.name == "sqlite":
        path = backend.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            row = conn.execute(f"SELECT doc FROM {k.T_REQUESTS} WHERE ref=?", (ref,)).fetchone()
        conn.close()
        return dict(json.loads(row[0]))
    text = redis.Redis.from_url(backend.url).hget(k.request_key(ref), "doc")
    assert isinstance(text, bytes)
    return dict(json.loads(text))


def opens_from_the_store(backend: Backend, token: str, ref: str, keys: list[str]) -> bool:
    """Whether someone holding the service keys and a copy of the store can open ``token``:
    unwrap the request's data key as stored, then open the sealed bytes with it."""
    wrapped = _wrapped_key(backend, ref)
    for key in keys:
        try:
            data_key = unwrap(Cipher.from_strings([key]), ref, wrapped) if wrapped else None
        except DecryptionError:
            continue
        if data_key is not None:
            Cipher([data_key]).open(token, REQUEST_AAD + ref)
            return True
    return opens_with_a_service_key(token, ref, keys)


def _wrapped_key(backend: Backend, ref: str) -> str | None:
    if backend.name == "sqlite":
        path = backend.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            sql = f"SELECT wrapped FROM {k.T_DATA_KEYS} WHERE ref=?"
            row = conn.execute(sql, (ref,)).fetchone()
        conn.close()
        return None if row is None else str(row[0])
    found = redis.Redis.from_url(backend.url, decode_responses=True).hget(k.DATA_KEYS, ref)
    return None if found is None else str(found)


def opens_with_a_service_key(token: str, ref: str, keys: list[str]) -> bool:
    for key in keys:
        try:
            Cipher.from_strings([key]).open(token, REQUEST_AAD + ref)
        except DecryptionError:
            continue
        return True
    return False


async def test_after_the_period_the_sealed_bytes_open_with_no_key(backend: Backend) -> None:
    store = await backend.open(index=INDEX)
    await create(store, "DPT/1/2026")
    before = raw_doc(backend, "DPT/1/2026")[SEALED_FIELD]
    assert CANARY.encode() not in backend.raw.raw_bytes()
    assert opens_from_the_store(backend, before, "DPT/1/2026", [KEY_A])
    wrapped = _wrapped_key(backend, "DPT/1/2026")
    assert wrapped is not None and wrapped.encode() in backend.raw.raw_bytes()
    stored = await store.get_request("DPT/1/2026")
    assert stored is not None and stored.data["answers"]["subject.last_name"] == CANARY

    early = CLOSED + timedelta(days=6 * 365)  # a day or two short of six calendar years
    assert await retention.run(store, PERIODS, early, dry_run=False, actor="t") == []

    later = CLOSED + timedelta(days=6 * 366)
    dry = await retention.run(store, PERIODS, later, dry_run=True, actor="t")
    assert [(o.due.ref, o.action) for o in dry] == [("DPT/1/2026", "would destroy")]
    assert (await store.get_request("DPT/1/2026")).data["answers"]  # type: ignore[union-attr]

    done = await retention.run(store, PERIODS, later, dry_run=False, actor="retention")
    assert [(o.due.ref, o.action) for o in done] == [("DPT/1/2026", "destroyed")]

    # The sealed bytes taken before (a backup) open with no service key, and the store holds
    # no data key for the request any more; what is stored now holds no sealed part at all.
    assert not opens_from_the_store(backend, before, "DPT/1/2026", [KEY_A])
    assert SEALED_FIELD not in raw_doc(backend, "DPT/1/2026")
    assert await store.find_subject(INDEX.digest(CANARY, "1979-02-14")) == []
    assert b"DPT/1/2026" not in _data_key_rows(backend)
    assert wrapped.split(".")[2].encode() not in backend.raw.raw_bytes()  # nor a trace of it

    shown = Request.model_validate((await store.get_request("DPT/1/2026")).data)  # type: ignore[union-attr]
    assert shown.answers == {} and shown.decision_note is None and shown.retro is None
    assert shown.outcome == "approved" and shown.state == "closed"  # plain fields kept
    notice = destruction_notice(shown)
    assert notice is not None
    assert "destroyed on " in notice and later.strftime("%B %Y") in notice
    assert notice.endswith("under the retention rule for decided requests: 6 years from closure.")
    card = details_message(shown)
    assert [f.value for f in card.fields] == [notice]

    entries = await store.audit_entries("DPT/1/2026")
    assert [e.action for e in entries] == ["retention.destroyed"]
    assert entries[0].details["period"] == "6 years"
    assert verify(await store.audit_entries()).ok
    assert CANARY not in json.dumps([e.details for e in await store.audit_entries()])
    # run again: nothing more to do, and the closed-request index no longer lists it
    assert await retention.run(store, PERIODS, later, dry_run=False, actor="t") == []
    assert await store.closed_before(later.timestamp()) == []


def _data_key_rows(backend: Backend) -> bytes:
    if backend.name == "sqlite":
        path = backend.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            rows = conn.execute(f"SELECT ref FROM {k.T_DATA_KEYS}").fetchall()
        conn.close()
        return b"\n".join(r[0].encode() for r in rows)
    refs = redis.Redis.from_url(backend.url, decode_responses=True).hkeys(k.DATA_KEYS)
    return "\n".join(map(str, refs)).encode()


async def test_a_held_reference_survives_and_is_destroyed_once_released(
    backend: Backend,
) -> None:
    store = await backend.open(index=INDEX)
    await create(store, "DPT/1/2026")
    await create(store, "DPT/2/2026")
    now = CLOSED + timedelta(days=1)
    await retention.set_hold(store, "DPT/1/2026", now, "operator:ig", "litigation, case L-12")
    with pytest.raises(HoldRefused):
        await retention.set_hold(store, "DPT/2/2026", now, "operator:ig", "  ")

    later = CLOSED + timedelta(days=7 * 365)
    done = await retention.run(store, PERIODS, later, dry_run=False, actor="retention")
    assert sorted((o.due.ref, o.action) for o in done) == [
        ("DPT/1/2026", "held"),
        ("DPT/2/2026", "destroyed"),
    ]
    held = await store.get_request("DPT/1/2026")
    assert held is not None and held.data["answers"]["subject.last_name"] == CANARY
    assert await store.find_subject(INDEX.digest(CANARY, "1979-02-14")) == ["DPT/1/2026"]

    await retention.set_hold(store, "DPT/1/2026", later, "operator:ig", None)
    done = await retention.run(store, PERIODS, later, dry_run=False, actor="retention")
    assert [(o.due.ref, o.action) for o in done] == [("DPT/1/2026", "destroyed")]
    actions = [e.action for e in await store.audit_entries("DPT/1/2026")]
    assert actions == ["retention.hold", "retention.released", "retention.destroyed"]
    assert verify(await store.audit_entries()).ok


async def test_a_withdrawn_request_keeps_its_data_for_the_shorter_period(
    backend: Backend,
) -> None:
    store = await backend.open(index=INDEX)
    doc = request_doc("DPT/3/2026", closed_at=None, state="withdrawn", outcome=None, retro=None)
    doc["withdrawn_at"], doc["retro_submitted_at"] = CLOSED.isoformat(), None
    await store.commit(UnitOfWork(requests=[Change("DPT/3/2026", doc, 0)]))
    await create(store, "DPT/4/2026")
    a_year_on = CLOSED + timedelta(days=366)
    done = await retention.run(store, PERIODS, a_year_on, dry_run=False, actor="retention")
    assert [(o.due.ref, o.action, o.due.rule) for o in done] == [
        ("DPT/3/2026", "destroyed", "undecided")
    ]


async def test_key_rotation_rewraps_data_keys_and_destruction_still_shreds(
    backend: Backend,
) -> None:
    key_b = generate_key()
    old = await backend.open(Cipher.from_strings([KEY_A]), INDEX)
    await create(old, "DPT/1/2026")
    sealed = raw_doc(backend, "DPT/1/2026")[SEALED_FIELD]
    both = await backend.open(Cipher.from_strings([key_b, KEY_A]), INDEX)
    assert await both.reencrypt() == 1  # the data key, re-wrapped; the document untouched
    assert raw_doc(backend, "DPT/1/2026")[SEALED_FIELD] == sealed
    only_b = await backend.open(Cipher.from_strings([key_b]), INDEX)
    stored = await only_b.get_request("DPT/1/2026")
    assert stored is not None and stored.data["decision_note"].endswith(CANARY)
    later = CLOSED + timedelta(days=7 * 365)
    await retention.run(only_b, PERIODS, later, dry_run=False, actor="retention")
    assert not opens_from_the_store(backend, sealed, "DPT/1/2026", [KEY_A, key_b])


async def test_a_request_sealed_before_data_keys_still_reads_and_moves_under_one(
    backend: Backend,
) -> None:
    """Dual read: a document sealed directly under a service key (as written before this
    change) opens; ``keys rotate`` gives it a data key, after which it can be shredded."""
    from store.crypto import seal_request

    cipher = Cipher.from_strings([KEY_A])
    store = await backend.open(cipher, INDEX)
    await create(store, "DPT/9/2026")
    legacy = seal_request(cipher, "DPT/9/2026", request_doc("DPT/9/2026"))
    _overwrite(backend, "DPT/9/2026", legacy)
    stored = await store.get_request("DPT/9/2026")
    assert stored is not None and stored.data["answers"]["subject.last_name"] == CANARY
    await store.commit(UnitOfWork(shred=["DPT/9/2026"]))  # as if indexed before: not yet
    assert await store.find_subject(INDEX.digest(CANARY, "1979-02-14")) == []
    assert await store.reencrypt() == 1
    assert await store.find_subject(INDEX.digest(CANARY, "1979-02-14")) == ["DPT/9/2026"]
    moved = raw_doc(backend, "DPT/9/2026")[SEALED_FIELD]
    assert not opens_with_a_service_key(moved, "DPT/9/2026", [KEY_A])  # under its data key
    assert opens_from_the_store(backend, moved, "DPT/9/2026", [KEY_A])
    again = await store.get_request("DPT/9/2026")
    assert again is not None and again.data["retro"] == {"details": f"{CANARY} was seen"}


def _overwrite(backend: Backend, ref: str, doc: str) -> None:
    if backend.name == "sqlite":
        path = backend.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute(f"UPDATE {k.T_REQUESTS} SET doc=? WHERE ref=?", (doc, ref))
            conn.execute(f"DELETE FROM {k.T_DATA_KEYS} WHERE ref=?", (ref,))
        conn.close()
        return
    client = redis.Redis.from_url(backend.url)
    client.hset(k.request_key(ref), "doc", doc)
    client.hdel(k.DATA_KEYS, ref)


# subject access -------------------------------------------------------------------------------


async def test_subject_find_across_three_requests_and_nothing_for_a_near_miss(
    backend: Backend,
) -> None:
    store = await backend.open(index=INDEX)
    await create(store, "DPT/1/2026", last_name="O'Brien-Zqxjv")
    await create(store, "DPT/2/2026", last_name="obrien zqxjv")
    await create(store, "CPFT/1/2026", last_name="O’BRIEN-ZQXJV")
    await create(store, "DPT/3/2026", last_name="O'Brien-Zqxjv", dob="1979-02-15")
    await create(store, "DPT/4/2026", last_name="Brien-Zqxjv")
    now = CLOSED

    found = await subject.find(store, INDEX, "o'brien-zqxjv", "1979-02-14", now, "operator:ig")
    assert [h.ref for h in found] == ["CPFT/1/2026", "DPT/1/2026", "DPT/2/2026"]
    assert await subject.find(store, INDEX, "O'Brien-Zqxjv", "1979-02-13", now, "op") == []
    assert await subject.find(store, INDEX, "O'Brien-Zqxj", "1979-02-14", now, "op") == []
    with pytest.raises(subject.SubjectQueryError, match="--dob"):
        await subject.find(store, INDEX, "O'Brien", "14/02/1979", now, "op")

    searches = [e for e in await store.audit_entries() if e.action == "subject.search"]
    assert [e.details for e in searches] == [{"matched": 3}, {"matched": 0}, {"matched": 0}]
    raw = backend.raw.raw_bytes()
    for plain in (b"Zqxjv", b"ZQXJV", b"zqxjv", normalise_name("O'Brien-Zqxjv").encode()):
        assert plain not in raw, plain
    assert b"1979-02-14" not in raw


async def test_an_index_key_other_than_the_encryption_keys_is_needed(backend: Backend) -> None:
    store = await backend.open(index=INDEX)
    await create(store, "DPT/1/2026")
    other = BlindIndex.from_string(generate_key())
    assert await subject.find(store, other, CANARY, "1979-02-14", CLOSED, "op") == []
    assert len(await subject.find(store, INDEX, CANARY, "1979-02-14", CLOSED, "op")) == 1


async def test_a_corrected_subject_is_found_under_both_versions_until_destroyed(
    backend: Backend,
) -> None:
    store = await backend.open(index=INDEX)
    doc = request_doc("DPT/1/2026", last_name="Vexhorandel")
    doc["versions"] = [
        {
            "n": 1,
            "by": "amara.okafor",
            "at": CLOSED.isoformat(),
            "reason": "misheard",
            "changed": ["subject.last_name"],
            "answers": {"subject.last_name": CANARY},
        }
    ]
    await store.commit(UnitOfWork(requests=[Change("DPT/1/2026", doc, 0)]))
    for name in (CANARY, "Vexhorandel"):
        found = await subject.find(store, INDEX, name, "1979-02-14", CLOSED, "op")
        assert [h.ref for h in found] == ["DPT/1/2026"], name
    await retention.run(store, PERIODS, CLOSED + timedelta(days=7 * 365), dry_run=False, actor="r")
    for name in (CANARY, "Vexhorandel"):
        assert await store.find_subject(INDEX.digest(name, "1979-02-14")) == []


async def test_an_organisation_keeps_its_records_for_its_own_period(backend: Backend) -> None:
    """Directory ``settings.retention`` (issue 14, per organisation): one organisation keeps
    decided requests two years, the service six; only its request is due after three."""
    from flows.directory import Directory, Organisation
    from flows.org_settings import OrgSettings
    from flows.retention import parse_period

    two_years = parse_period("2 years")
    short = OrgSettings(retention={"decided": two_years, "forms": two_years})
    directory = Directory(
        organisations=(
            Organisation(code="DPT", name="Trust", settings=short),
            Organisation(code="CNC", name="Council"),
        )
    )
    store = await backend.open(index=INDEX)
    await create(store, "DPT/5/2026")
    await store.commit(
        UnitOfWork(requests=[Change("CNC/1/2026", request_doc("CNC/1/2026", org="CNC"), 0)])
    )
    three_years_on = CLOSED + timedelta(days=3 * 366)
    done = await retention.run(
        store, PERIODS, three_years_on, dry_run=True, actor="retention", directory=directory
    )
    assert [(o.due.ref, o.due.period) for o in done] == [("DPT/5/2026", "2 years")]


async def test_a_data_key_another_process_changed_makes_a_commit_conflict_not_corrupt(
    backend: Backend,
) -> None:
    """A process remembers the wrapped data keys it read (Redis: no extra round trip per
    commit); if another process re-wrapped (key rotation) or shredded one since, the commit is
    a Conflict, and after a re-read it goes through and still opens."""
    from store.base import Conflict

    key_b = generate_key()
    await create(await backend.open(Cipher.from_strings([KEY_A]), INDEX), "DPT/8/2026")
    first = await backend.open(Cipher.from_strings([key_b, KEY_A]), INDEX)
    read = await first.get_request("DPT/8/2026")
    assert read is not None
    other = await backend.open(Cipher.from_strings([key_b, KEY_A]), INDEX)
    await other.reencrypt()  # re-wraps every data key with the newest service key
    changed = {**read.data, "state": "retro_due"}
    if backend.name == "redis":  # SQLite reads the key inside its transaction: no stale copy
        with pytest.raises(Conflict):
            await first.commit(UnitOfWork(requests=[Change("DPT/8/2026", changed, read.version)]))
    again = await first.get_request("DPT/8/2026")
    assert again is not None
    await first.commit(UnitOfWork(requests=[Change("DPT/8/2026", changed, again.version)]))
    final = await other.get_request("DPT/8/2026")
    assert final is not None and final.data["answers"]["subject.last_name"] == CANARY


async def test_the_daily_run_reads_a_page_at_a_time_and_stops_when_it_has_enough(
    backend: Backend,
) -> None:
    store = await backend.open(index=INDEX)
    refs = [f"DPT/{n}/2026" for n in range(1, retention.PAGE + 51)]
    for start in range(0, len(refs), 50):
        changes = [Change(ref, request_doc(ref), 0) for ref in refs[start : start + 50]]
        await store.commit(UnitOfWork(requests=changes))
    seven_years_on = CLOSED + timedelta(days=7 * 366)
    first = await retention.candidates(store, PERIODS, seven_years_on, enough=5)
    assert 5 <= len(first) <= retention.PAGE, "one page was enough"
    every = await retention.candidates(store, PERIODS, seven_years_on)
    assert sorted(c.request.ref for c in every) == sorted(refs)
