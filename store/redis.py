"""The production store: Redis, shared by several bot replicas and workers.

Every read-modify-write is one Lua script (atomic on the server) except the audit append,
whose sha256 is computed in Python: it uses WATCH on the audit list and retries on conflict.
Scripts name their keys in ``KEYS`` except the job hashes inside ``claim``, which are derived
from ids found in the sorted set; that is fine on a single Redis or Sentinel, not on Cluster.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError, WatchError
from redis.typing import EncodableT, FieldT

from store import keys as k
from store.audit import from_json, make_entry, to_json
from store.base import AlreadyExists, AuditEntry, Document, Job, LockTimeout, Versioned
from store.crypto import (
    Cipher,
    open_request,
    open_session,
    reseal_request,
    reseal_session,
    seal_request,
    seal_session,
)

LOCK_POLL_SECONDS = 0.02

RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

CREATE_REQUEST = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'version', 1, 'doc', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 1
"""

UPDATE_REQUEST = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

# Re-sealing must not overwrite a concurrent update: swap only if the old text is unchanged.
RESEAL_REQUEST = """
if redis.call('HGET', KEYS[1], 'doc') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
return 1
"""

RESEAL_SESSION = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""

# ARGV: now, new due (now + lease), limit, job-hash prefix, claim token.
CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local lease = ARGV[5] .. ':' .. i
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'lease', lease, 'due_at', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    local f = redis.call('HMGET', key, 'kind', 'payload')
    out[#out + 1] = {id, f[1], f[2], attempts, lease}
  end
end
return out
"""

COMPLETE = """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""

# ARGV: lease, id, new due, '1' to dead-letter, JSON of the dead job.
RETRY = """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[5])
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[1], 'due_at', ARGV[3], 'lease', '')
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1
"""

# The injected ``now`` decides whether a mark is still live (as in SQLite); PX only makes
# Redis forget old marks on its own.
SEEN = """
local expires = redis.call('GET', KEYS[1])
if expires and tonumber(expires) > tonumber(ARGV[1]) then return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 0
"""


Text = bytes | str


def _state(data: Document) -> str:
    return str(data.get("state", ""))


def _s(value: Text) -> str:
    # The client decodes replies (decode_responses=True); redis-py's types cannot know that.
    return value.decode() if isinstance(value, bytes) else value


def _job_from_hash(job_id: Text, raw: dict[Text, Text]) -> Job:
    fields = {_s(key): _s(value) for key, value in raw.items()}
    return Job(
        _s(job_id),
        fields["kind"],
        float(fields["due_at"]),
        json.loads(fields["payload"]),
        int(fields["attempts"]),
        fields["lease"],
    )


def _job_to_json(job: Job) -> str:
    return json.dumps([job.id, job.kind, job.due_at, job.payload, job.attempts, job.lease])


def _job_from_json(text: str) -> Job:
    job_id, kind, due_at, payload, attempts, lease = json.loads(text)
    return Job(job_id, kind, due_at, payload, attempts, lease)


class RedisStore:
    """``Store`` on Redis; see the module docstring for the atomicity model."""

    def __init__(self, url: str, cipher: Cipher) -> None:
        self._url = url
        self._cipher = cipher
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        r = self._redis
        self._release = r.register_script(RELEASE_LOCK)
        self._create = r.register_script(CREATE_REQUEST)
        self._update = r.register_script(UPDATE_REQUEST)
        self._reseal_request = r.register_script(RESEAL_REQUEST)
        self._reseal_session = r.register_script(RESEAL_SESSION)
        self._claim = r.register_script(CLAIM)
        self._complete = r.register_script(COMPLETE)
        self._retry = r.register_script(RETRY)
        self._seen = r.register_script(SEEN)

    async def open(self) -> None:
        """Check the connection (fails fast on a wrong URL)."""
        await self._redis.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def ping(self) -> bool:
        """True if Redis answers."""
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def persistence_warning(self) -> str | None:
        """A warning when AOF is off (Redis may lose recent writes on restart)."""
        try:
            reply = await self._redis.config_get("appendonly")
        except ResponseError:
            # Managed Redis often disables CONFIG; its persistence is the provider's to report.
            return None
        if reply.get("appendonly") == "yes":
            return None
        return (
            "Redis append-only file is off: a restart can lose requests, timers and audit "
            "entries written since the last snapshot; set 'appendonly yes'"
        )

    # locks ------------------------------------------------------------------------------

    def lock(
        self, key: str, ttl: float = 30.0, wait: float = 10.0
    ) -> AbstractAsyncContextManager[None]:
        """SET NX PX with an owner token; released by compare-and-delete."""
        return self._locked(key, ttl, wait)

    @asynccontextmanager
    async def _locked(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        name, token = k.lock_key(key), uuid.uuid4().hex
        deadline = asyncio.get_running_loop().time() + wait
        ttl_ms = max(1, int(ttl * 1000))
        while not await self._redis.set(name, token, nx=True, px=ttl_ms):
            if asyncio.get_running_loop().time() >= deadline:
                raise LockTimeout(f"lock {key!r} still held after {wait:.1f}s")
            await asyncio.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            await self._release(keys=[name], args=[token])

    # sessions ---------------------------------------------------------------------------

    async def load_session(self, key: str) -> Document | None:
        """The session document, decrypted, or None."""
        token = await self._redis.get(k.session_key(key))
        return None if token is None else open_session(self._cipher, key, _s(token))

    async def save_session(self, key: str, data: Document) -> None:
        """Seal and store the session document."""
        await self._redis.set(k.session_key(key), seal_session(self._cipher, key, data))

    async def delete_session(self, key: str) -> None:
        """Forget the session."""
        await self._redis.delete(k.session_key(key))

    # requests ---------------------------------------------------------------------------

    async def create_request(self, ref: str, data: Document) -> None:
        """Insert at version 1; ``AlreadyExists`` if taken."""
        doc = seal_request(self._cipher, ref, data)
        keys = [k.request_key(ref), k.REQUEST_INDEX, k.REQUEST_STATES]
        if not await self._create(keys=keys, args=[doc, ref, _state(data)]):
            raise AlreadyExists(f"request {ref} already exists")

    async def get_request(self, ref: str) -> Versioned | None:
        """The request and its version, or None."""
        doc, version = await self._redis.hmget(k.request_key(ref), ["doc", "version"])
        if doc is None or version is None:
            return None
        return Versioned(open_request(self._cipher, ref, _s(doc)), int(version))

    async def update_request(self, ref: str, data: Document, expected_version: int) -> bool:
        """Compare-and-set in one script."""
        doc = seal_request(self._cipher, ref, data)
        args = [str(expected_version), doc, ref, _state(data)]
        return bool(await self._update(keys=[k.request_key(ref), k.REQUEST_STATES], args=args))

    async def list_requests(self, exclude_states: Collection[str] = ()) -> list[Versioned]:
        """Requests in reference order; the state hash spares decrypting excluded ones."""
        refs = sorted(_s(ref) for ref in await self._redis.smembers(k.REQUEST_INDEX))
        if exclude_states:
            states = {
                _s(r): _s(v) for r, v in (await self._redis.hgetall(k.REQUEST_STATES)).items()
            }
            refs = [ref for ref in refs if states.get(ref) not in exclude_states]
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hmget(k.request_key(ref), ["doc", "version"])
            rows = await pipe.execute()
        return [
            Versioned(open_request(self._cipher, ref, doc), int(version))
            for ref, (doc, version) in zip(refs, rows, strict=True)
            if doc is not None
        ]

    async def next_reference_number(self, prefix: str, year: int) -> int:
        """INCR on a per-prefix, per-year counter."""
        return int(await self._redis.incr(k.reference_key(prefix, year)))

    # jobs -------------------------------------------------------------------------------

    async def schedule(self, job: Job) -> None:
        """Insert or replace (attempts reset, lease cleared), atomically."""
        fields: dict[FieldT, EncodableT] = {
            "kind": job.kind,
            "due_at": repr(float(job.due_at)),
            "payload": json.dumps(job.payload),
            "attempts": "0",
            "lease": "",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.job_key(job.id))
            pipe.hset(k.job_key(job.id), mapping=fields)
            pipe.zadd(k.JOBS_DUE, {job.id: job.due_at})
            await pipe.execute()

    async def cancel(self, job_id: str) -> None:
        """Delete the job if present."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.job_key(job_id))
            pipe.zrem(k.JOBS_DUE, job_id)
            await pipe.execute()

    async def get_job(self, job_id: str) -> Job | None:
        """The job as stored, or None."""
        fields = await self._redis.hgetall(k.job_key(job_id))
        return _job_from_hash(job_id, fields) if fields else None

    async def pending_jobs(self) -> list[Job]:
        """Every job not yet completed, soonest first."""
        ids = [_s(cast(Text, i)) for i in await self._redis.zrange(k.JOBS_DUE, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(k.job_key(job_id))
            rows = await pipe.execute()
        return [_job_from_hash(i, f) for i, f in zip(ids, rows, strict=True) if f]

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Pop due ids, bump attempts, lease and re-score them: one script."""
        due = now + lease_seconds
        args: list[Text | int] = [repr(now), repr(due), limit, k.JOB_PREFIX, uuid.uuid4().hex]
        rows = await self._claim(keys=[k.JOBS_DUE], args=args)
        return [
            Job(job_id, kind, due, json.loads(payload), int(attempts), lease)
            for job_id, kind, payload, attempts, lease in rows
        ]

    async def complete(self, job: Job) -> None:
        """Delete the job if it still holds this claim's lease."""
        await self._complete(keys=[k.job_key(job.id), k.JOBS_DUE], args=[job.lease, job.id])

    async def retry(self, job: Job, due_at: float, max_attempts: int) -> bool:
        """Release the claim to run at ``due_at``, or dead-letter it after ``max_attempts``."""
        dead = job.attempts >= max_attempts
        keys = [k.job_key(job.id), k.JOBS_DUE, k.JOBS_DEAD]
        args = [job.lease, job.id, repr(float(due_at)), "1" if dead else "0", _job_to_json(job)]
        held = await self._retry(keys=keys, args=args)
        # A job cancelled or re-scheduled since the claim is not ours to bury.
        return not (dead and held)

    async def dead_letters(self) -> list[Job]:
        """Jobs that failed ``max_attempts`` times."""
        rows = await self._redis.hgetall(k.JOBS_DEAD)
        return sorted((_job_from_json(_s(row)) for row in rows.values()), key=lambda j: j.id)

    # de-duplication ---------------------------------------------------------------------

    async def seen(self, event_id: str, ttl_seconds: float, now: float) -> bool:
        """Record ``event_id``; True if already recorded and not expired at ``now``."""
        ttl_ms = max(1, int(ttl_seconds * 1000))
        args: list[Text | int] = [repr(float(now)), repr(float(now + ttl_seconds)), ttl_ms]
        return bool(await self._seen(keys=[k.seen_key(event_id)], args=args))

    # addresses and handles --------------------------------------------------------------

    async def save_address(self, platform: str, key: str, address: Document) -> None:
        """Remember how to reach ``key`` on ``platform``."""
        await self._redis.set(k.address_key(platform, key), json.dumps(address))

    async def load_address(self, platform: str, key: str) -> Document | None:
        """The saved address, or None."""
        raw = await self._redis.get(k.address_key(platform, key))
        return None if raw is None else dict(json.loads(raw))

    async def add_handle(self, card_id: str, handle: Document) -> None:
        """Remember one delivered copy of a card."""
        await self._redis.rpush(k.handles_key(card_id), json.dumps(handle))

    async def handles(self, card_id: str) -> list[Document]:
        """Every delivered copy, in delivery order."""
        rows = await self._redis.lrange(k.handles_key(card_id), 0, -1)
        return [dict(json.loads(row)) for row in rows]

    # audit ------------------------------------------------------------------------------

    async def append_audit(
        self, at: datetime, actor: str, action: str, ref: str, details: dict[str, Any]
    ) -> AuditEntry:
        """Append the next link; WATCH the list so a concurrent append forces a retry."""
        while True:
            try:
                return await self._try_append(at.isoformat(), actor, action, ref, details)
            except WatchError:
                await asyncio.sleep(0)

    async def _try_append(
        self, at: str, actor: str, action: str, ref: str, details: dict[str, Any]
    ) -> AuditEntry:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(k.AUDIT_LOG)
            last = await pipe.lindex(k.AUDIT_LOG, -1)
            head = None if last is None else from_json(_s(last))
            entry = make_entry(head, at, actor, action, ref, details)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.rpush(k.AUDIT_LOG, to_json(entry))
            await pipe.execute()
        return entry

    async def audit_entries(self, ref: str | None = None) -> list[AuditEntry]:
        """The chain oldest first, optionally only one reference's entries."""
        entries = [from_json(_s(row)) for row in await self._redis.lrange(k.AUDIT_LOG, 0, -1)]
        return entries if ref is None else [e for e in entries if e.ref == ref]

    # keys -------------------------------------------------------------------------------

    async def reencrypt(self) -> int:
        """Re-seal sessions and requests written with an older key."""
        return await self._reencrypt_sessions() + await self._reencrypt_requests()

    async def _reencrypt_sessions(self) -> int:
        count, prefix = 0, k.session_key("")
        async for raw in self._redis.scan_iter(match=prefix + "*", count=500):
            name, old = _s(raw), await self._redis.get(raw)
            new = old and reseal_session(self._cipher, name.removeprefix(prefix), _s(old))
            if old and new and await self._reseal_session(keys=[name], args=[old, new]):
                count += 1
        return count

    async def _reencrypt_requests(self) -> int:
        count = 0
        for ref in map(_s, await self._redis.smembers(k.REQUEST_INDEX)):
            name = k.request_key(ref)
            old = await self._redis.hget(name, "doc")
            new = old and reseal_request(self._cipher, ref, _s(old))
            if old and new and await self._reseal_request(keys=[name], args=[old, new]):
                count += 1
        return count
