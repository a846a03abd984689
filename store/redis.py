"""The production store: Redis, shared by several bot replicas and workers.

Every read-modify-write is one Lua script, atomic on the server, and every script checks all
its conditions before its first write, so a refused call writes nothing. ``commit`` (a whole
unit of work: the ``done`` job, session and request compare-and-sets, jobs, outbox, audit) is
one script call, one round trip in the common case. Audit hashes are sha256, which Redis Lua
lacks, so Python links the entries to the chain head it last saw (cached per process, kept in
``AUDIT_HEAD``) and the script checks that head is still current; if another process appended
meanwhile the script writes nothing and returns the new head, and the commit is re-linked and
sent again (not a ``Conflict``). ``save_session`` and ``schedule``/``cancel`` are MULTI/EXEC.

Scripts name their fixed keys in ``KEYS``; per-item keys travel in ``commit``'s JSON argument
or are derived from ids found in sorted sets (``claim``, the outbox scripts). That is fine on a
single Redis or Sentinel, not on Cluster.

The outbox keeps, per recipient, a sorted set of entry ids scored by ``seq`` (only its head
may be claimed) and one sorted set of recipients scored by their head's due time, so
``claim_outbox`` reads only due heads. ``receive`` sets the inbox's seen mark and stores the
leased job in one script. Sessions are hashes (``version``, ``token``); a store written before
sessions had versions (plain strings) is converted at ``open``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from store import datakeys
from store import keys as k
from store.audit import from_json, make_entry, to_json
from store.base import (
    AlreadyExists,
    AuditDraft,
    AuditEntry,
    Change,
    Committed,
    Conflict,
    Document,
    Duplicate,
    Job,
    LockTimeout,
    OutboxStats,
    Outgoing,
    QueueStats,
    StoreError,
    UnitOfWork,
    Versioned,
)
from store.blind_index import BlindIndex
from store.crypto import (
    INBOX_AAD,
    INBOX_EVENT,
    INBOX_FIELD,
    OUTBOX_AAD,
    Cipher,
    open_console,
    open_job_payload,
    open_outgoing,
    open_session,
    reseal_session,
    seal_console,
    seal_job_payload,
    seal_outgoing,
    seal_session,
)
from store.lifetimes import DEFAULT_LIFETIMES, STAMPED, Lifetimes, lifetime_of

LOCK_POLL_SECONDS = 0.02
MAX_CONNECTIONS = 50
GROUP_MAX = 64  # commits linked and sent in one pipeline at most
WRAPPED_KEYS_KNOWN = 10_000  # requests whose wrapped data key a process remembers
POOL_WAIT_SECONDS = 10.0
RECONNECT_RETRIES = 1  # a pooled connection found dead is replaced once, at once
LAYOUT_VERSION = 4  # 2: sessions are hashes (version, token); 3: request and audit indexes;
# 4: the index of closed requests (retention); key kinds with a lifetime carry a TTL
INDEX_PREFIXES = (k.REQUESTS_BY_STATE, k.REQUESTS_BY_REQUESTER)
PLAN_WORK = ("seen", "done", "docs", "cancel", "schedule", "outbox", "shred")

RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

INDEX_REQUEST = """
-- Keep the per-state and per-requester sets of references in step with the state hash.
local function index_request(states, ref, state, requester, by_state, by_requester)
  local old = redis.call('HGET', states, ref)
  if old and old ~= state then redis.call('SREM', by_state .. old, ref) end
  redis.call('SADD', by_state .. state, ref)
  if requester ~= '' then redis.call('SADD', by_requester .. requester, ref) end
  redis.call('HSET', states, ref, state)
end
"""

# ARGV: doc, ref, state, requester, state-set prefix, requester-set prefix.
CREATE_REQUEST = (
    INDEX_REQUEST
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'version', 1, 'doc', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
index_request(KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 1
"""
)

# ARGV: expected version, doc, ref, state, requester, state-set prefix, requester-set prefix.
UPDATE_REQUEST = (
    INDEX_REQUEST
    + """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
index_request(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return 1
"""
)

# Re-sealing must not overwrite a concurrent write: swap only if the old text is unchanged.
# ARGV: field, old text, new text.
RESEAL_FIELD = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# An older store's session (a string holding the token) becomes a hash at version 1.
MIGRATE_SESSION = """
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' then return 0 end
local token = redis.call('GET', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', 1, 'token', token)
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

# KEYS: the box hash, the box order, the console counter. ARGV: id, sealed entry, keep.
SAVE_CONSOLE_ENTRY = """
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
local keep = tonumber(ARGV[3])
local old = redis.call('ZRANGE', KEYS[2], 0, -keep - 1)
for _, id in ipairs(old) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""

# A dead letter is the stored hash as JSON (sealed values stay sealed), plus its id.
DUMP_HASH = """
local function dump(key, id)
  local f = redis.call('HGETALL', key)
  local t = {id = id}
  for i = 1, #f, 2 do t[f[i]] = f[i + 1] end
  return cjson.encode(t)
end
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

# A request is read with its data key in one script (atomic, so never a document from before a
# destruction with its key gone after it). KEYS[1]: the data keys hash, then one request hash
# per reference; ARGV: the references. Replies doc, version, wrapped key per reference (false
# where missing).
READ_REQUESTS = """
local out = {}
for i = 2, #KEYS do
  local row = redis.call('HMGET', KEYS[i], 'doc', 'version')
  out[#out + 1] = row[1]
  out[#out + 1] = row[2]
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i - 1])
end
return out
"""

COMPLETE = """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""

# ARGV: lease, id, new due, '1' to dead-letter.
RETRY = (
    DUMP_HASH
    + """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[3], ARGV[2], dump(KEYS[1], ARGV[2]))
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[1], 'due_at', ARGV[3], 'lease', '')
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1
"""
)

# The injected ``now`` decides whether a mark is still live (as in SQLite); PX only makes
# Redis forget old marks on its own.
SEEN = """
local expires = redis.call('GET', KEYS[1])
if expires and tonumber(expires) > tonumber(ARGV[1]) then return 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 0
"""

# The inbox: the seen mark and the leased job together. KEYS: seen mark, job hash, due set.
# ARGV: now, mark expiry, mark ttl (ms), id, kind, due, stored payload, lease.
RECEIVE = """
local expires = redis.call('GET', KEYS[1])
if expires and tonumber(expires) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'kind', ARGV[5], 'due_at', ARGV[6], 'payload', ARGV[7],
  'attempts', 1, 'lease', ARGV[8])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
return 1
"""

# KEYS: jobs due, request index, request states, outbox seq, outbox ready, audit log, audit
# head. ARGV[1]: the plan as JSON (see ``RedisStore._plan``). Checks first, then writes, so
# a refused commit writes nothing. Replies {'ok', {seq, kept lease (1/0), …}} per outbox
# entry, {'duplicate', why}, {'conflict', why}, {'error', why} or {'audit', the current
# head entry's JSON}.
COMMIT = (
    INDEX_REQUEST
    + """
local plan = cjson.decode(ARGV[1])
local seen = plan.seen
if seen then
  local expires = redis.call('GET', seen.key)
  if expires and tonumber(expires) > tonumber(seen.now) then
    return {'duplicate', 'event ' .. seen.id .. ' was received already'}
  end
end
local done = plan.done
if done and redis.call('HGET', done.key, 'lease') ~= done.lease then
  return {'conflict', 'job ' .. done.id .. ' is no longer held by this claim'}
end
local versions = {}
for _, d in ipairs(plan.docs) do
  local current = versions[d.key]
  if current == nil then current = tonumber(redis.call('HGET', d.key, 'version') or '0') end
  if current ~= d.expect then
    if d.expect == 0 then return {'conflict', d.name .. ' exists already'} end
    return {'conflict', d.name .. ' changed since it was read'}
  end
  versions[d.key] = current + 1
  d.version = current + 1
  local was = d.dkey_was
  if was and was ~= '' and redis.call('HGET', plan.data_keys, d.ref) ~= was then
    return {'conflict', d.name .. ' changed since it was read (its data key)'}
  end
  if d.dkey_new and d.dkey_new ~= '' and redis.call('HEXISTS', plan.data_keys, d.ref) == 1 then
    return {'conflict', d.name .. ' changed since it was read (its data key)'}
  end
end
for _, e in ipairs(plan.outbox) do
  if redis.call('EXISTS', e.key) == 1 then
    return {'error', 'outbox entry ' .. e.id .. ' exists already'}
  end
end
local audit = plan.audit
if audit then
  local head = redis.call('GET', KEYS[7]) or redis.call('LINDEX', KEYS[6], -1)
  local prev = ''
  if head then prev = cjson.decode(head).hash end
  if prev ~= audit.prev then return {'audit', head or ''} end
end

if seen then redis.call('SET', seen.key, seen['until'], 'PX', seen.ttl) end
if done then
  redis.call('DEL', done.key)
  redis.call('ZREM', KEYS[1], done.id)
end
local function unindex_subject(ref)
  local of = plan.subjects_of .. ref
  for _, digest in ipairs(redis.call('SMEMBERS', of)) do
    redis.call('SREM', plan.subject .. digest, ref)
  end
  redis.call('DEL', of)
end
for _, ref in ipairs(plan.shred) do
  redis.call('HDEL', plan.data_keys, ref)
  redis.call('ZREM', plan.closed, ref)
  unindex_subject(ref)
end
for _, d in ipairs(plan.docs) do
  redis.call('HSET', d.key, d.field, d.value, 'version', d.version)
  if d.ttl then redis.call('PEXPIRE', d.key, d.ttl) end
  if d.ref then
    redis.call('SADD', KEYS[2], d.ref)
    index_request(KEYS[3], d.ref, d.state, d.requester, plan.by_state, plan.by_requester)
    if d.dkey_new ~= '' then redis.call('HSET', plan.data_keys, d.ref, d.dkey_new) end
    if d.closed ~= '' then
      redis.call('ZADD', plan.closed, d.closed, d.ref)
    else
      redis.call('ZREM', plan.closed, d.ref)
    end
    if d.reindex then
      unindex_subject(d.ref)
      for _, digest in ipairs(d.subjects) do
        redis.call('SADD', plan.subject .. digest, d.ref)
        redis.call('SADD', plan.subjects_of .. d.ref, digest)
      end
    end
  end
end
for _, c in ipairs(plan.cancel) do
  redis.call('DEL', c.key)
  redis.call('ZREM', KEYS[1], c.id)
end
for _, j in ipairs(plan.schedule) do
  redis.call('DEL', j.key)
  redis.call('HSET', j.key, 'kind', j.kind, 'due_at', j.due, 'payload', j.payload,
    'attempts', 0, 'lease', '')
  redis.call('ZADD', KEYS[1], j.due, j.id)
end
local busy, out = {}, {}
for _, e in ipairs(plan.outbox) do
  if busy[e.queue] == nil then busy[e.queue] = redis.call('EXISTS', e.queue) == 1 end
end
for _, e in ipairs(plan.outbox) do
  local seq = redis.call('INCR', KEYS[4])
  local lease, due, kept = '', e.queued, 0
  if e.lease ~= '' and not busy[e.queue] then lease, due, kept = e.lease, e.due, 1 end
  redis.call('HSET', e.key, 'recipient', e.recipient, 'seq', seq, 'payload', e.payload,
    'due_at', due, 'attempts', 0, 'lease', lease)
  if redis.call('ZCARD', e.queue) == 0 then redis.call('ZADD', KEYS[5], due, e.recipient) end
  redis.call('ZADD', e.queue, seq, e.id)
  out[#out + 1] = seq
  out[#out + 1] = kept
end
if audit then
  for i, line in ipairs(audit.entries) do
    redis.call('RPUSH', KEYS[6], line)
    if audit.refs[i] ~= '' then redis.call('RPUSH', plan.audit_of .. audit.refs[i], line) end
  end
  redis.call('SET', KEYS[7], audit.entries[#audit.entries])
end
return {'ok', out}
"""
)
COMMIT_KEYS = (
    k.JOBS_DUE,
    k.REQUEST_INDEX,
    k.REQUEST_STATES,
    k.OUTBOX_SEQ,
    k.OUTBOX_READY,
    k.AUDIT_LOG,
    k.AUDIT_HEAD,
)

# Outbox scripts. KEYS[1]: the ready set (recipient scored by its head entry's due time).
# ARGV[1], ARGV[2]: the entry-hash and queue prefixes.
REFRESH_HEAD = """
local function refresh(recipient)
  local head = redis.call('ZRANGE', ARGV[2] .. recipient, 0, 0)
  if #head == 0 then
    redis.call('ZREM', KEYS[1], recipient)
  else
    local due = redis.call('HGET', ARGV[1] .. head[1], 'due_at') or '0'
    redis.call('ZADD', KEYS[1], due, recipient)
  end
end
"""

# ARGV[3…]: now, new due (now + lease), limit, claim token.
CLAIM_OUTBOX = (
    REFRESH_HEAD
    + """
local recipients = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0,
  tonumber(ARGV[5]))
local out = {}
for i, recipient in ipairs(recipients) do
  local head = redis.call('ZRANGE', ARGV[2] .. recipient, 0, 0)
  local key = head[1] and ARGV[1] .. head[1]
  if not key then
    redis.call('ZREM', KEYS[1], recipient)
  elseif redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', ARGV[2] .. recipient, head[1])
    refresh(recipient)
  else
    local lease = ARGV[6] .. ':' .. i
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'lease', lease, 'due_at', ARGV[4])
    redis.call('ZADD', KEYS[1], ARGV[4], recipient)
    local f = redis.call('HMGET', key, 'seq', 'payload')
    out[#out + 1] = {head[1], recipient, f[1], f[2], attempts, lease}
  end
end
return out
"""
)

# ARGV[3…]: pairs of id and lease.
COMPLETE_OUTBOX = (
    REFRESH_HEAD
    + """
local count = 0
for i = 3, #ARGV, 2 do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('HGET', key, 'lease') == ARGV[i + 1] then
    local recipient = redis.call('HGET', key, 'recipient')
    redis.call('DEL', key)
    redis.call('ZREM', ARGV[2] .. recipient, ARGV[i])
    refresh(recipient)
    count = count + 1
  end
end
return count
"""
)

# KEYS[2]: the dead letters. ARGV[3…]: id, lease, new due, '1' to dead-letter.
RETRY_OUTBOX = (
    REFRESH_HEAD
    + DUMP_HASH
    + """
local key = ARGV[1] .. ARGV[3]
if redis.call('HGET', key, 'lease') ~= ARGV[4] then return 0 end
local recipient = redis.call('HGET', key, 'recipient')
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[2], ARGV[3], dump(key, ARGV[3]))
  redis.call('DEL', key)
  redis.call('ZREM', ARGV[2] .. recipient, ARGV[3])
else
  redis.call('HSET', key, 'due_at', ARGV[5], 'lease', '')
end
refresh(recipient)
return 1
"""
)

# Read-only: every pending entry as {id, recipient, seq, payload, due_at, attempts, lease}.
OUTBOX_ALL = """
local out = {}
for _, recipient in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  for _, id in ipairs(redis.call('ZRANGE', ARGV[2] .. recipient, 0, -1)) do
    local f = redis.call('HMGET', ARGV[1] .. id, 'seq', 'payload', 'due_at', 'attempts', 'lease')
    if f[1] then out[#out + 1] = {id, recipient, f[1], f[2], f[3], f[4], f[5]} end
  end
end
return out
"""

# Read-only: {count, earliest due_at as sent} of the pending entries; no payload is read.
OUTBOX_STATS = """
local depth, oldest = 0, nil
for _, recipient in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  for _, id in ipairs(redis.call('ZRANGE', ARGV[2] .. recipient, 0, -1)) do
    local due = redis.call('HGET', ARGV[1] .. id, 'due_at')
    if due then
      depth = depth + 1
      if oldest == nil or tonumber(due) < tonumber(oldest) then oldest = due end
    end
  end
end
return {depth, oldest or ''}
"""


Text = bytes | str


def _state(data: Document) -> str:
    return str(data.get("state", ""))


def _s(value: Text) -> str:
    # The client decodes replies (decode_responses=True); redis-py's types cannot know that.
    return value.decode() if isinstance(value, bytes) else value


def _dead_due(text: str) -> float:
    """When a dead letter (a job or outbox entry, stored as JSON) was due."""
    row = json.loads(text)
    return float(row[2] if isinstance(row, list) else row["due_at"])


def _ms(lifetime: timedelta) -> int:
    return max(1, int(lifetime.total_seconds() * 1000))


@dataclass(frozen=True)
class _Queued:
    """A commit waiting in the queue for ``_send_batches``."""

    work: UnitOfWork
    plan: dict[str, Any] | None  # None: the unit only completes its job
    future: asyncio.Future[tuple[Committed, list[AuditEntry]]]


def _chain(head: AuditEntry | None, drafts: list[AuditDraft]) -> list[AuditEntry]:
    """``drafts`` chained one after the other onto ``head``."""
    entries: list[AuditEntry] = []
    for d in drafts:
        head = make_entry(head, d.at.isoformat(), d.actor, d.action, d.ref, d.details)
        entries.append(head)
    return entries


def _audit_plan(entries: list[AuditEntry]) -> dict[str, Any]:
    """The commit script's ``audit`` part: the head it expects and the lines to append."""
    prev = entries[0].prev_hash if entries[0].seq > 1 else ""
    return {
        "prev": prev,
        "entries": [to_json(e) for e in entries],
        "refs": [e.ref for e in entries],
    }


def _num(value: float) -> str:
    """A float as Redis gets it: ``repr`` round-trips exactly (Lua's ``tostring`` would not)."""
    return repr(float(value))


def _reseal(cipher: Cipher, token: str, aad: str) -> str | None:
    """``token`` re-sealed with the newest key, or None if it is already current."""
    if not cipher.needs_rotation(token):
        return None
    return cipher.seal(cipher.open(token, aad), aad)


def _reseal_job_payload(cipher: Cipher, job_id: str, text: str) -> str | None:
    """A stored job payload with its sealed event re-sealed, or None if nothing to do."""
    stored = json.loads(text)
    token = stored.get(INBOX_FIELD)
    new = None if token is None else _reseal(cipher, token, INBOX_AAD + job_id)
    return None if new is None else json.dumps({**stored, INBOX_FIELD: new})


class RedisStore:
    """``Store`` on Redis; see the module docstring for the atomicity model."""

    def __init__(
        self,
        url: str,
        cipher: Cipher,
        index: BlindIndex | None = None,
        lifetimes: Lifetimes = DEFAULT_LIFETIMES,
    ) -> None:
        self._url = url
        self._cipher = cipher
        self._index = index
        self._lifetimes = lifetimes
        # The newest audit entry this process knows of: commits link to it without reading
        # first; a stale head costs one more round trip (the script returns the real one).
        self._head: AuditEntry | None = None
        # Commits wait here and are sent together by one task (``_send_batches``), their
        # audit entries linked in order: one round trip for a burst instead of one each.
        self._queue: list[_Queued] = []
        # Wrapped data keys of requests this process read or wrote lately (bounded, LRU).
        self._wrapped: OrderedDict[str, str] = OrderedDict()
        self._sender: asyncio.Future[None] | None = None
        # A burst waits for a free connection instead of failing with "too many connections".
        # After Redis restarts, every idle pooled connection is dead, and only its first use
        # finds out: one immediate retry on a fresh connection spares that use a failure,
        # however late it comes. While the server is down the retry cannot connect, so it fails
        # at once. A commit whose reply was lost as the server died could only run twice if
        # the server were back within that instant, and then its delivery mark, versions and
        # lease refuse the second run.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            decode_responses=True,
            retry=Retry(NoBackoff(), RECONNECT_RETRIES),
        )
        self._redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        r = self._redis
        self._release = r.register_script(RELEASE_LOCK)
        self._save_console = r.register_script(SAVE_CONSOLE_ENTRY)
        self._create = r.register_script(CREATE_REQUEST)
        self._update = r.register_script(UPDATE_REQUEST)
        self._reseal_field = r.register_script(RESEAL_FIELD)
        self._migrate_session = r.register_script(MIGRATE_SESSION)
        self._claim = r.register_script(CLAIM)
        self._complete = r.register_script(COMPLETE)
        self._read = r.register_script(READ_REQUESTS)
        self._retry = r.register_script(RETRY)
        self._seen = r.register_script(SEEN)
        self._receive = r.register_script(RECEIVE)
        self._commit = r.register_script(COMMIT)
        self._claim_outbox = r.register_script(CLAIM_OUTBOX)
        self._complete_outbox = r.register_script(COMPLETE_OUTBOX)
        self._retry_outbox = r.register_script(RETRY_OUTBOX)
        self._outbox_all = r.register_script(OUTBOX_ALL)
        self._outbox_stats = r.register_script(OUTBOX_STATS)
        self._scripts = [
            self._release,
            self._save_console,
            self._create,
            self._update,
            self._reseal_field,
            self._migrate_session,
            self._claim,
            self._complete,
            self._read,
            self._retry,
            self._seen,
            self._receive,
            self._commit,
            self._claim_outbox,
            self._complete_outbox,
            self._retry_outbox,
            self._outbox_all,
            self._outbox_stats,
        ]

    async def open(self) -> None:
        """Check the connection (fails fast on a wrong URL), load the scripts and the audit
        chain head (so that even a first commit is one round trip), migrate an older layout."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for script in self._scripts:
                pipe.script_load(script.script)
            pipe.get(k.AUDIT_HEAD)
            pipe.lindex(k.AUDIT_LOG, -1)
            pipe.get(k.LAYOUT)
            *_, head, last, layout = await pipe.execute()
        if head or last:  # no head key: a store older than it, whose head is the last entry
            self._head = from_json(_s(head or last))
        if layout is None or int(layout) < 2:
            await self._migrate_sessions()
        if layout is None or int(layout) < 3:
            await self._index_requests()
            await self._index_audit()
        if layout is None or int(layout) < 4:
            await self._index_closed()
            await self._expire_older_keys()
        if layout is None or int(layout) < LAYOUT_VERSION:
            await self._redis.set(k.LAYOUT, LAYOUT_VERSION)

    async def _migrate_sessions(self) -> None:
        """Sessions stored as strings (before versions) become hashes at version 1."""
        pattern = k.session_key("") + "*"
        async for name in self._redis.scan_iter(match=pattern, count=500, _type="string"):
            await self._migrate_session(keys=[name])

    async def _index_requests(self) -> None:
        """Stores older than the indexes: fill the per-state and per-requester sets."""
        states = {_s(r): _s(v) for r, v in (await self._redis.hgetall(k.REQUEST_STATES)).items()}
        refs = sorted(states)
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hget(k.request_key(ref), "doc")
            rows = await pipe.execute()
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref, doc in zip(refs, rows, strict=True):
                pipe.sadd(k.state_set_key(states[ref]), ref)
                requester = str(json.loads(_s(doc)).get("requester", "")) if doc else ""
                if requester:
                    pipe.sadd(k.requester_set_key(requester), ref)
            await pipe.execute()

    async def _index_closed(self) -> None:
        """Stores older than retention: index the requests that already ended."""
        refs = sorted(map(_s, await self._redis.smembers(k.REQUEST_INDEX)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hget(k.request_key(ref), "doc")
            rows = await pipe.execute()
        ended = {}
        for ref, doc in zip(refs, rows, strict=True):
            closed = datakeys.closed_at(json.loads(_s(doc))) if doc else None
            if closed is not None:
                ended[ref] = closed
        if ended:
            await self._redis.zadd(k.CLOSED, ended)

    async def _index_audit(self) -> None:
        """Stores older than the indexes: each request's audit entries in a list of its own."""
        grouped: dict[str, list[str]] = {}
        for row in await self._redis.lrange(k.AUDIT_LOG, 0, -1):
            line = _s(row)
            ref = from_json(line).ref
            if ref:
                grouped.setdefault(ref, []).append(line)
        async with self._redis.pipeline(transaction=True) as pipe:
            for ref, lines in grouped.items():
                pipe.delete(k.audit_ref_key(ref))
                pipe.rpush(k.audit_ref_key(ref), *lines)
            await pipe.execute()

    async def _expire_older_keys(self) -> None:
        """Stores older than lifetimes: keys of a kind with a lifetime start it now."""
        for kind in STAMPED:
            ttl = _ms(lifetime_of(kind, self._lifetimes))
            for pattern in kind.redis:
                async for name in self._redis.scan_iter(match=k.PREFIX + pattern, count=500):
                    if await self._redis.pttl(name) == -1:
                        await self._redis.pexpire(name, ttl)

    # lifetimes --------------------------------------------------------------------------

    async def sweep(self, now: float) -> dict[str, int]:
        """Delete dead letters past their lifetime (every other kind with a lifetime carries
        a TTL, so Redis expires it); how many, per kind."""
        before = now - self._lifetimes.dead_letters.total_seconds()
        counts = {}
        for name in (k.JOBS_DEAD, k.OUTBOX_DEAD):
            rows = await self._redis.hgetall(name)
            old = [_s(i) for i, row in rows.items() if _dead_due(_s(row)) <= before]
            if old:
                counts[name.removeprefix(k.PREFIX)] = int(await self._redis.hdel(name, *old))
        return counts

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

    # the unit of work -------------------------------------------------------------------

    async def commit(self, work: UnitOfWork) -> Committed:
        """Write ``work`` in one script call; ``Conflict`` (nothing written) if a check fails."""
        committed, _ = await self._commit_work(work)
        return committed

    async def _commit_work(self, work: UnitOfWork) -> tuple[Committed, list[AuditEntry]]:
        if work.done is not None and work == UnitOfWork(done=work.done):
            return await self._queued(work, None)
        plan = self._plan(work, await self._wrapped_keys(work.requests))
        if not any(plan.get(name) for name in PLAN_WORK) and not work.audit:
            return Committed(fast=[]), []
        try:
            done = await self._queued(work, plan)
        except Conflict:
            for change in work.requests:  # perhaps a data key this process knew went stale
                self._wrapped.pop(change.key, None)
            raise
        self._remember_keys(plan)
        return done

    async def _complete_only(self, job: Job) -> tuple[Committed, list[AuditEntry]]:
        """A unit that only completes its job (a timer whose purpose has gone): the small
        completion script instead of the whole commit plan, same check of the lease."""
        done = await self._complete(keys=[k.job_key(job.id), k.JOBS_DUE], args=[job.lease, job.id])
        if not int(done):
            raise Conflict(f"job {job.id} is no longer held by this claim")
        return Committed(fast=[]), []

    async def _queued(
        self, work: UnitOfWork, plan: dict[str, Any] | None
    ) -> tuple[Committed, list[AuditEntry]]:
        """Queue the commit (``plan`` None: it only completes its job) for the sender, which
        sends whatever queued meanwhile in one pipeline: a burst costs one round trip, and
        commits with audit entries link to the head one after the other (linked concurrently
        they would all name the same head and all but one would go round again)."""
        future: asyncio.Future[tuple[Committed, list[AuditEntry]]]
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(work, plan, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_batches())
        return await asyncio.shield(future)

    async def _send_batches(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
            try:
                await self._send_group(batch)
            except BaseException as error:  # the round trip itself failed: each commit did
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(error)
                if not isinstance(error, Exception):
                    raise

    async def _send_group(self, batch: list[_Queued]) -> None:
        """Link the batch's audit entries one after the other onto the known head and send
        every commit script in one pipeline (each script is still atomic on its own). A commit
        refused because the head moved (another process appended, or a commit before it in the
        batch was refused) is sent again alone."""
        if len(batch) > 1:
            batch = await self._pipelined(batch)
        for item in batch:
            try:
                item.future.set_result(await self._send_alone(item))
            except Exception as error:
                item.future.set_exception(error)

    async def _send_alone(self, item: _Queued) -> tuple[Committed, list[AuditEntry]]:
        if item.plan is None:
            assert item.work.done is not None
            return await self._complete_only(item.work.done)
        return await self._send_commit(item.work, item.plan)

    async def _pipelined(self, batch: list[_Queued]) -> list[_Queued]:
        """Send the batch at once; return the commits to send again alone."""
        head, chains = self._head, []
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in batch:
                entries = _chain(head, item.work.audit)
                chains.append(entries)
                self._pipe_one(pipe, item, entries)
                head = entries[-1] if entries else head
            replies = await pipe.execute(raise_on_error=False)
        again = []
        for item, entries, reply in zip(batch, chains, replies, strict=True):
            if isinstance(reply, Exception) or (item.plan is not None and _s(reply[0]) == "audit"):
                again.append(item)  # NOSCRIPT after a Redis restart, or the head moved
                continue
            try:
                item.future.set_result(self._replied(item, entries, reply))
            except Exception as error:
                item.future.set_exception(error)
        return again

    def _pipe_one(self, pipe: Any, item: _Queued, entries: list[AuditEntry]) -> None:
        """Add one queued commit to the pipeline: the commit script, or the completion."""
        if item.plan is None:
            job = item.work.done
            assert job is not None
            pipe.evalsha(self._complete.sha, 2, k.job_key(job.id), k.JOBS_DUE, job.lease, job.id)
            return
        if entries:
            item.plan["audit"] = _audit_plan(entries)
        args = json.dumps(item.plan, ensure_ascii=False)
        pipe.evalsha(self._commit.sha, len(COMMIT_KEYS), *COMMIT_KEYS, args)

    def _replied(
        self, item: _Queued, entries: list[AuditEntry], reply: Any
    ) -> tuple[Committed, list[AuditEntry]]:
        if item.plan is not None:
            return self._committed(item.work, entries, reply)
        if not int(reply):
            assert item.work.done is not None
            raise Conflict(f"job {item.work.done.id} is no longer held by this claim")
        return Committed(fast=[]), []

    def _committed(
        self, work: UnitOfWork, entries: list[AuditEntry], reply: Any
    ) -> tuple[Committed, list[AuditEntry]]:
        """The outcome of one commit script's reply ({'ok', flags} / conflict / error)."""
        status, detail = _s(reply[0]), reply[1]
        if status == "duplicate":
            raise Duplicate(_s(detail))
        if status == "conflict":
            raise Conflict(_s(detail))
        if status != "ok":
            raise StoreError(_s(detail))
        if entries and (self._head is None or entries[-1].seq > self._head.seq):
            self._head = entries[-1]
        flags = [int(x) for x in detail]
        fast = [
            dataclasses.replace(entry, seq=flags[2 * i])
            for i, entry in enumerate(work.outbox)
            if flags[2 * i + 1]
        ]
        return Committed(fast=fast), entries

    async def _send_commit(
        self, work: UnitOfWork, plan: dict[str, Any]
    ) -> tuple[Committed, list[AuditEntry]]:
        keys = list(COMMIT_KEYS)
        while True:
            entries = _chain(self._head, work.audit)
            if entries:
                plan["audit"] = _audit_plan(entries)
            args = [json.dumps(plan, ensure_ascii=False)]
            status, detail = await self._commit(keys=keys, args=args)
            if _s(status) != "audit":
                return self._committed(work, entries, [status, detail])
            # another process appended: link to the real head and send again
            self._head = from_json(_s(detail)) if detail else None
            await asyncio.sleep(0)

    async def _wrapped_keys(self, changes: list[Change]) -> dict[str, str]:
        """The stored (wrapped) data keys of the requests ``changes`` write; the commit script
        checks they are still the same when it writes. Keys this process read or wrote lately
        are known without a round trip (a stale one makes the commit a ``Conflict``, and the
        caller's re-read refreshes it); a request being created has none."""
        refs = [c.key for c in changes if c.expected_version != 0]
        known = {ref: self._wrapped[ref] for ref in refs if ref in self._wrapped}
        missing = [ref for ref in refs if ref not in known]
        if missing:
            found = await self._redis.hmget(k.DATA_KEYS, missing)
            known |= {ref: _s(w) for ref, w in zip(missing, found, strict=True) if w is not None}
        return known

    def _remember(self, ref: str, wrapped: str | None) -> None:
        if wrapped is None:
            self._wrapped.pop(ref, None)
            return
        self._wrapped[ref] = wrapped
        self._wrapped.move_to_end(ref)
        if len(self._wrapped) > WRAPPED_KEYS_KNOWN:
            self._wrapped.popitem(last=False)

    def _remember_keys(self, plan: dict[str, Any]) -> None:
        """After a commit: the data keys it created, and those it shredded gone."""
        for doc in plan.get("docs", []):
            if doc.get("dkey_new"):
                self._remember(doc["ref"], doc["dkey_new"])
        for ref in plan.get("shred", []):
            self._remember(ref, None)

    def _request_doc(self, change: Change, wrapped: str | None) -> dict[str, Any]:
        """One request of the plan: sealed under its data key (a new one if it has none),
        with its closure time and subject digests for the indexes."""
        ref, data = change.key, change.data
        new_key, key = "", None
        if not datakeys.needs_key(data):
            pass
        elif wrapped is not None:
            key = datakeys.unwrap(self._cipher, ref, wrapped)
        else:
            key = datakeys.new_data_key()
            new_key = datakeys.wrap(self._cipher, ref, key)
        closed = datakeys.closed_at(data)
        destroyed = datakeys.is_destroyed(data)
        return {
            "key": k.request_key(ref),
            "name": f"request {ref}",
            "expect": change.expected_version,
            "field": "doc",
            "value": datakeys.seal_document(ref, data, key),
            "ref": ref,
            "state": _state(data),
            "requester": str(data.get("requester", "")),
            "dkey_was": wrapped if key is not None and not new_key else "",
            "dkey_new": new_key,
            "closed": "" if closed is None else _num(closed),
            "reindex": self._index is not None or destroyed,
            "subjects": [] if self._index is None or destroyed else self._index.of_request(data),
        }

    def _plan(self, work: UnitOfWork, wrapped: dict[str, str]) -> dict[str, Any]:
        """The unit of work as the commit script reads it, every value sealed; floats travel
        as ``repr`` strings so that they are stored exactly."""
        c = self._cipher
        docs: list[dict[str, Any]] = [
            {
                "key": k.session_key(s.key),
                "name": f"session {s.key}",
                "expect": s.expected_version,
                "field": "token",
                "value": seal_session(c, s.key, s.data),
                "ttl": _ms(self._lifetimes.session_idle),
            }
            for s in work.sessions
        ]
        docs += [self._request_doc(r, wrapped.get(r.key)) for r in work.requests]
        ids = [e.id for e in work.outbox]
        if len(set(ids)) != len(ids):
            raise StoreError("outbox entry ids must be unique within a unit of work")
        plan: dict[str, Any] = {
            "by_state": k.REQUESTS_BY_STATE,
            "by_requester": k.REQUESTS_BY_REQUESTER,
            "audit_of": k.AUDIT_BY_REF,
            "data_keys": k.DATA_KEYS,
            "closed": k.CLOSED,
            "subject": k.SUBJECT_PREFIX,
            "subjects_of": k.SUBJECTS_OF_PREFIX,
            "shred": list(work.shred),
            "docs": docs,
            "cancel": [{"key": k.job_key(i), "id": i} for i in work.cancel],
            "schedule": [
                {
                    "key": k.job_key(j.id),
                    "id": j.id,
                    "kind": j.kind,
                    "due": _num(j.due_at),
                    "payload": json.dumps(j.payload),
                }
                for j in work.schedule
            ],
            "outbox": [
                {
                    "key": k.outbox_entry_key(e.id),
                    "queue": k.outbox_queue_key(e.recipient),
                    "id": e.id,
                    "recipient": e.recipient,
                    "payload": seal_outgoing(c, e.id, e.payload),
                    "due": _num(e.due_at),
                    "queued": _num(e.queued_at),
                    "lease": e.lease,
                }
                for e in work.outbox
            ],
        }
        if work.done is not None:
            d = work.done
            plan["done"] = {"key": k.job_key(d.id), "id": d.id, "lease": d.lease}
        if work.seen is not None:
            mark, ttl = work.seen, max(1, int((work.seen.until - work.seen.now) * 1000))
            plan["seen"] = {"key": k.seen_key(mark.key), "id": mark.key, "now": _num(mark.now),
                            "until": _num(mark.until), "ttl": ttl}  # fmt: skip
        return plan

    async def receive(
        self, job: Job, dedupe_key: str, dedupe_ttl: float, now: float, sealed: Document
    ) -> Job | None:
        """Mark seen and store the leased job in one script; None for a duplicate."""
        stored = seal_job_payload(self._cipher, job.id, job.payload, sealed)
        keys = [k.seen_key(dedupe_key), k.job_key(job.id), k.JOBS_DUE]
        args: list[Text | int] = [
            _num(now),
            _num(now + dedupe_ttl),
            max(1, int(dedupe_ttl * 1000)),
            job.id,
            job.kind,
            _num(job.due_at),
            json.dumps(stored),
            job.lease,
        ]
        if not await self._receive(keys=keys, args=args):
            return None
        payload = {**job.payload, INBOX_EVENT: sealed}
        return Job(job.id, job.kind, job.due_at, payload, 1, job.lease)

    # the outbox -------------------------------------------------------------------------

    def _outgoing(self, entry_id: str, recipient: str, fields: list[Text]) -> Outgoing:
        seq, token, due_at, attempts, lease = map(_s, fields)
        payload = open_outgoing(self._cipher, entry_id, token)
        return Outgoing(entry_id, recipient, payload, float(due_at), int(attempts), lease, int(seq))

    async def claim_outbox(self, now: float, lease_seconds: float, limit: int) -> list[Outgoing]:
        """Lease the due head entry of up to ``limit`` recipients: one script."""
        due = now + lease_seconds
        args: list[Text | int] = [
            k.OUTBOX_ENTRY_PREFIX,
            k.OUTBOX_QUEUE_PREFIX,
            _num(now),
            _num(due),
            limit,
            uuid.uuid4().hex,
        ]
        rows = await self._claim_outbox(keys=[k.OUTBOX_READY], args=args)
        claimed = [
            Outgoing(
                _s(i),
                _s(recipient),
                open_outgoing(self._cipher, _s(i), _s(token)),
                due,
                int(attempts),
                _s(lease),
                int(seq),
            )
            for i, recipient, seq, token, attempts, lease in rows
        ]
        return sorted(claimed, key=lambda e: e.seq)

    async def complete_outbox(self, entries: Collection[Outgoing]) -> None:
        """Delete the delivered entries still holding their lease; the next entry of each
        recipient becomes its head."""
        if not entries:
            return
        args = [k.OUTBOX_ENTRY_PREFIX, k.OUTBOX_QUEUE_PREFIX]
        for entry in entries:
            args += [entry.id, entry.lease]
        await self._complete_outbox(keys=[k.OUTBOX_READY], args=args)

    async def retry_outbox(self, entry: Outgoing, due_at: float, max_attempts: int) -> bool:
        """Release the claim to run at ``due_at``, or dead-letter it after ``max_attempts``."""
        dead = entry.attempts >= max_attempts
        args = [
            k.OUTBOX_ENTRY_PREFIX,
            k.OUTBOX_QUEUE_PREFIX,
            entry.id,
            entry.lease,
            _num(due_at),
            "1" if dead else "0",
        ]
        held = await self._retry_outbox(keys=[k.OUTBOX_READY, k.OUTBOX_DEAD], args=args)
        # An entry whose lease changed since the claim is not ours to bury.
        return not (dead and held)

    async def outbox_entries(self) -> list[Outgoing]:
        """Every pending entry, in seq order."""
        args = [k.OUTBOX_ENTRY_PREFIX, k.OUTBOX_QUEUE_PREFIX]
        rows = await self._outbox_all(keys=[k.OUTBOX_READY], args=args)
        entries = [self._outgoing(_s(i), _s(r), fields) for i, r, *fields in rows]
        return sorted(entries, key=lambda e: e.seq)

    async def pending_outbox(self, ids: Collection[str]) -> list[Outgoing]:
        """The entries among ``ids`` still pending, in seq order: one pipelined read."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        fields = ("recipient", "seq", "payload", "due_at", "attempts", "lease")
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in wanted:
                pipe.hmget(k.outbox_entry_key(entry_id), fields)
            rows = await pipe.execute()
        found = [
            self._outgoing(entry_id, _s(row[0]), row[1:])
            for entry_id, row in zip(wanted, rows, strict=True)
            if row[0] is not None
        ]
        return sorted(found, key=lambda e: e.seq)

    async def dead_outbox(self) -> list[Outgoing]:
        """Entries that failed ``max_attempts`` times, in seq order."""
        rows = await self._redis.hgetall(k.OUTBOX_DEAD)
        entries = []
        for row in rows.values():
            f = json.loads(_s(row))
            fields = [f["seq"], f["payload"], f["due_at"], f["attempts"], f["lease"]]
            entries.append(self._outgoing(f["id"], f["recipient"], fields))
        return sorted(entries, key=lambda e: e.seq)

    async def outbox_stats(self) -> OutboxStats:
        """One read-only script walks the recipients' queues for each entry's due time."""
        args = [k.OUTBOX_ENTRY_PREFIX, k.OUTBOX_QUEUE_PREFIX]
        depth, oldest = await self._outbox_stats(keys=[k.OUTBOX_READY], args=args)
        return OutboxStats(int(depth), float(oldest) if _s(oldest) else None)

    async def queue_stats(self, now: float) -> QueueStats:
        """Counts (ZCARD, ZCOUNT, HLEN) and the first due job, in one pipeline."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(k.JOBS_DUE)
            pipe.zcount(k.JOBS_DUE, "-inf", _num(now))
            pipe.zrange(k.JOBS_DUE, 0, 0, withscores=True)
            pipe.hlen(k.JOBS_DEAD)
            pipe.hlen(k.OUTBOX_DEAD)
            scheduled, waiting, first, dead_jobs, dead_outbox = await pipe.execute()
        return QueueStats(
            jobs_scheduled=int(scheduled),
            jobs_waiting=int(waiting),
            oldest_job_due=float(first[0][1]) if first else None,
            outbox=await self.outbox_stats(),
            dead_jobs=int(dead_jobs),
            dead_outbox=int(dead_outbox),
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
        token = await self._redis.hget(k.session_key(key), "token")
        return None if token is None else open_session(self._cipher, key, _s(token))

    async def get_session(self, key: str) -> Versioned | None:
        """The session document and its version, or None."""
        token, version = await self._redis.hmget(k.session_key(key), ["token", "version"])
        if token is None or version is None:
            return None
        return Versioned(open_session(self._cipher, key, _s(token)), int(version))

    async def save_session(self, key: str, data: Document) -> None:
        """Seal and store the session document (unconditionally; version + 1): MULTI/EXEC."""
        name = k.session_key(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, "token", seal_session(self._cipher, key, data))
            pipe.hincrby(name, "version", 1)
            pipe.pexpire(name, _ms(self._lifetimes.session_idle))
            await pipe.execute()

    async def delete_session(self, key: str) -> None:
        """Forget the session."""
        await self._redis.delete(k.session_key(key))

    # requests ---------------------------------------------------------------------------

    async def create_request(self, ref: str, data: Document) -> None:
        """Insert at version 1; ``AlreadyExists`` if taken."""
        try:
            await self.commit(UnitOfWork(requests=[Change(ref, data, 0)]))
        except Conflict:
            raise AlreadyExists(f"request {ref} already exists") from None

    async def get_request(self, ref: str) -> Versioned | None:
        """The request and its version, or None."""
        found = await self._read_requests([ref])
        return found[0] if found else None

    async def get_requests(self, refs: Collection[str]) -> list[Versioned]:
        """One script for the whole batch."""
        return await self._read_requests(sorted(set(refs)))

    async def _read_requests(self, refs: list[str]) -> list[Versioned]:
        """Documents with their data keys, read in one script (never a document from before
        a destruction with the key gone after it)."""
        if not refs:
            return []
        keys = [k.DATA_KEYS, *(k.request_key(ref) for ref in refs)]
        flat = await self._read(keys=keys, args=refs)
        found = []
        for n, ref in enumerate(refs):
            doc, version, w = flat[3 * n : 3 * n + 3]
            self._remember(ref, None if w is None else _s(w))
            if doc is not None and version is not None:
                key = None if w is None else _s(w)
                found.append(
                    Versioned(datakeys.open_document(self._cipher, ref, _s(doc), key), int(version))
                )
        return found

    async def update_request(self, ref: str, data: Document, expected_version: int) -> bool:
        """Compare-and-set in one script."""
        try:
            await self.commit(UnitOfWork(requests=[Change(ref, data, expected_version)]))
        except Conflict:
            return False
        return True

    async def list_requests(
        self,
        exclude_states: Collection[str] = (),
        *,
        states: Collection[str] | None = None,
        requester: str | None = None,
    ) -> list[Versioned]:
        """Requests in reference order. A filter on ``requester`` or ``states`` reads only the
        matching references from their sets; with neither, every reference is listed."""
        return await self._read_requests(await self._matching(exclude_states, states, requester))

    async def closed_before(self, cutoff: float) -> list[str]:
        """Ended requests still holding data, from the sorted set by closure time."""
        found = await self._redis.zrangebyscore(k.CLOSED, "-inf", cutoff)
        return [_s(cast(Text, ref)) for ref in found]

    async def find_subject(self, digest: str) -> list[str]:
        """References indexed under ``digest``."""
        return sorted(map(_s, await self._redis.smembers(k.SUBJECT_PREFIX + digest)))

    async def _matching(
        self, exclude: Collection[str], states: Collection[str] | None, requester: str | None
    ) -> list[str]:
        if requester is not None:
            refs = sorted(map(_s, await self._redis.smembers(k.requester_set_key(requester))))
            if states is None and not exclude:
                return refs
            found = await self._redis.hmget(k.REQUEST_STATES, refs) if refs else []
            return [
                ref
                for ref, state in zip(refs, found, strict=True)
                if state is not None
                and (states is None or _s(state) in states)
                and _s(state) not in exclude
            ]
        if states is not None:
            chosen = [k.state_set_key(state) for state in states if state not in exclude]
            return sorted(map(_s, await self._redis.sunion(chosen))) if chosen else []
        refs = sorted(_s(ref) for ref in await self._redis.smembers(k.REQUEST_INDEX))
        if exclude:
            known = {_s(r): _s(v) for r, v in (await self._redis.hgetall(k.REQUEST_STATES)).items()}
            refs = [ref for ref in refs if known.get(ref) not in exclude]
        return refs

    async def next_reference_number(self, prefix: str, year: int) -> int:
        """INCR on a per-prefix, per-year counter."""
        name = k.reference_key(prefix, year)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expireat(name, datetime(year + 2, 1, 1, tzinfo=UTC))
            number, _ = await pipe.execute()
        return int(number)

    # jobs -------------------------------------------------------------------------------

    def _job(self, job_id: Text, raw: dict[Text, Text]) -> Job:
        """A job from its stored hash, an inbox event opened under ``"event"``."""
        fields = {_s(key): _s(value) for key, value in raw.items()}
        job_id = _s(job_id)
        return Job(
            job_id,
            fields["kind"],
            float(fields["due_at"]),
            open_job_payload(self._cipher, job_id, json.loads(fields["payload"])),
            int(fields["attempts"]),
            fields["lease"],
        )

    def _dead_job(self, text: str) -> Job:
        row = json.loads(text)
        if isinstance(row, list):  # written before dead letters kept the stored hash
            job_id, kind, due_at, payload, attempts, lease = row
            return Job(job_id, kind, due_at, payload, attempts, lease)
        return self._job(row["id"], row)

    async def schedule(self, job: Job) -> None:
        """Insert or replace (attempts reset, lease cleared), atomically."""
        fields: dict[FieldT, EncodableT] = {
            "kind": job.kind,
            "due_at": _num(job.due_at),
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
        """The job as stored (an inbox event opened), or None."""
        fields = await self._redis.hgetall(k.job_key(job_id))
        return self._job(job_id, fields) if fields else None

    async def pending_jobs(self) -> list[Job]:
        """Every job not yet completed, soonest first."""
        ids = [_s(cast(Text, i)) for i in await self._redis.zrange(k.JOBS_DUE, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(k.job_key(job_id))
            rows = await pipe.execute()
        return [self._job(i, f) for i, f in zip(ids, rows, strict=True) if f]

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Pop due ids, bump attempts, lease and re-score them: one script."""
        due = now + lease_seconds
        args: list[Text | int] = [_num(now), _num(due), limit, k.JOB_PREFIX, uuid.uuid4().hex]
        rows = await self._claim(keys=[k.JOBS_DUE], args=args)
        return [
            Job(
                _s(job_id),
                _s(kind),
                due,
                open_job_payload(self._cipher, _s(job_id), json.loads(payload)),
                int(attempts),
                _s(lease),
            )
            for job_id, kind, payload, attempts, lease in rows
        ]

    async def complete(self, job: Job) -> None:
        """Delete the job if it still holds this claim's lease."""
        await self._complete(keys=[k.job_key(job.id), k.JOBS_DUE], args=[job.lease, job.id])

    async def retry(self, job: Job, due_at: float, max_attempts: int) -> bool:
        """Release the claim to run at ``due_at``, or dead-letter it (as stored, so an inbox
        event stays sealed) after ``max_attempts``."""
        dead = job.attempts >= max_attempts
        keys = [k.job_key(job.id), k.JOBS_DUE, k.JOBS_DEAD]
        args = [job.lease, job.id, _num(due_at), "1" if dead else "0"]
        held = await self._retry(keys=keys, args=args)
        # A job cancelled or re-scheduled since the claim is not ours to bury.
        return not (dead and held)

    async def dead_letters(self) -> list[Job]:
        """Jobs that failed ``max_attempts`` times."""
        rows = await self._redis.hgetall(k.JOBS_DEAD)
        return sorted((self._dead_job(_s(row)) for row in rows.values()), key=lambda j: j.id)

    # the web console's boxes --------------------------------------------------------------

    async def save_console_entry(self, box: str, entry_id: str, entry: Document, keep: int) -> None:
        """Upsert in one script (an update keeps its place), trimming to the newest ``keep``."""
        token = seal_console(self._cipher, box, entry_id, entry)
        keys = [k.console_box_key(box), k.console_order_key(box), k.CONSOLE_SEQ]
        ttl = _ms(self._lifetimes.console)
        await self._save_console(keys=keys, args=[entry_id, token, keep, ttl])

    async def console_entries(self, box: str) -> list[Document]:
        """The box, oldest first."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(k.console_order_key(box), 0, -1)
            pipe.hgetall(k.console_box_key(box))
            ids, tokens = await pipe.execute()
        found = {_s(key): _s(value) for key, value in tokens.items()}
        return [open_console(self._cipher, box, _s(i), found[_s(i)]) for i in ids if _s(i) in found]

    # de-duplication ---------------------------------------------------------------------

    async def seen(self, event_id: str, ttl_seconds: float, now: float) -> bool:
        """Record ``event_id``; True if already recorded and not expired at ``now``."""
        ttl_ms = max(1, int(ttl_seconds * 1000))
        args: list[Text | int] = [_num(now), _num(now + ttl_seconds), ttl_ms]
        return bool(await self._seen(keys=[k.seen_key(event_id)], args=args))

    # addresses and handles --------------------------------------------------------------

    async def save_address(self, platform: str, key: str, address: Document) -> None:
        """Remember how to reach ``key`` on ``platform``."""
        ttl = _ms(self._lifetimes.addresses)
        await self._redis.set(k.address_key(platform, key), json.dumps(address), px=ttl)

    async def load_address(self, platform: str, key: str) -> Document | None:
        """The saved address, or None."""
        raw = await self._redis.get(k.address_key(platform, key))
        return None if raw is None else dict(json.loads(raw))

    async def add_handle(self, card_id: str, handle: Document) -> None:
        """Remember one delivered copy of a card."""
        name = k.handles_key(card_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(name, json.dumps(handle))
            pipe.pexpire(name, _ms(self._lifetimes.message_handles))
            await pipe.execute()

    async def handles(self, card_id: str) -> list[Document]:
        """Every delivered copy, in delivery order."""
        rows = await self._redis.lrange(k.handles_key(card_id), 0, -1)
        return [dict(json.loads(row)) for row in rows]

    # audit ------------------------------------------------------------------------------

    async def append_audit(
        self, at: datetime, actor: str, action: str, ref: str, details: dict[str, Any]
    ) -> AuditEntry:
        """Append the next link: a commit of this one entry."""
        draft = AuditDraft(at, actor, action, ref, details)
        _, [entry] = await self._commit_work(UnitOfWork(audit=[draft]))
        return entry

    async def audit_entries(self, ref: str | None = None) -> list[AuditEntry]:
        """The chain oldest first, optionally only one reference's entries."""
        source = k.AUDIT_LOG if ref is None else k.audit_ref_key(ref)
        return [from_json(_s(row)) for row in await self._redis.lrange(source, 0, -1)]

    # keys -------------------------------------------------------------------------------

    async def reencrypt(self) -> int:
        """Re-seal with the newest key: sessions, requests, inbox events in jobs and dead
        letters, outbox payloads and dead outbox entries."""
        total = 0
        for step in (
            self._reencrypt_sessions,
            self._reencrypt_requests,
            self._reencrypt_jobs,
            self._reencrypt_outbox,
            self._reencrypt_dead,
        ):
            total += await step()
        return total

    async def _swap(self, name: str, field: str, old: str, new: str | None) -> int:
        """Write ``new`` if given and the field still holds ``old``; 1 if written."""
        if new is None:
            return 0
        return int(bool(await self._reseal_field(keys=[name], args=[field, old, new])))

    async def _reencrypt_sessions(self) -> int:
        count, prefix = 0, k.session_key("")
        async for raw in self._redis.scan_iter(match=prefix + "*", count=500, _type="hash"):
            name = _s(raw)
            old = await self._redis.hget(name, "token")
            if old:
                new = reseal_session(self._cipher, name.removeprefix(prefix), _s(old))
                count += await self._swap(name, "token", _s(old), new)
        return count

    async def _reencrypt_requests(self) -> int:
        """Data keys re-wrapped with the newest service key; requests sealed under a service
        key (before data keys) moved under a data key of their own."""
        count = 0
        wrapped = {_s(r): _s(w) for r, w in (await self._redis.hgetall(k.DATA_KEYS)).items()}
        for ref, old in wrapped.items():
            count += await self._swap(
                k.DATA_KEYS, ref, old, datakeys.rewrap(self._cipher, ref, old)
            )
        for ref in map(_s, await self._redis.smembers(k.REQUEST_INDEX)):
            doc = None if ref in wrapped else await self._redis.hget(k.request_key(ref), "doc")
            if doc and datakeys.sealed_with_service_key(self._cipher, _s(doc)):
                stored = await self.get_request(ref)
                if stored is not None and await self.update_request(
                    ref, stored.data, stored.version
                ):
                    count += 1
        return count

    async def _reencrypt_jobs(self) -> int:
        count = 0
        for raw in await self._redis.zrange(k.JOBS_DUE, 0, -1):
            job_id = _s(cast(Text, raw))
            name = k.job_key(job_id)
            old = await self._redis.hget(name, "payload")
            if old:
                new = _reseal_job_payload(self._cipher, job_id, _s(old))
                count += await self._swap(name, "payload", _s(old), new)
        return count

    async def _reencrypt_outbox(self) -> int:
        count = 0
        for entry_id, _, _, token, *_ in await self._outbox_all(
            keys=[k.OUTBOX_READY], args=[k.OUTBOX_ENTRY_PREFIX, k.OUTBOX_QUEUE_PREFIX]
        ):
            new = _reseal(self._cipher, _s(token), OUTBOX_AAD + _s(entry_id))
            count += await self._swap(k.outbox_entry_key(_s(entry_id)), "payload", token, new)
        return count

    async def _reencrypt_dead(self) -> int:
        """Dead jobs (their sealed event) and dead outbox entries (their payload)."""
        count = 0
        for entry_id, old in (await self._redis.hgetall(k.JOBS_DEAD)).items():
            row = json.loads(_s(old))
            if isinstance(row, dict):  # older dead jobs (lists) hold nothing sealed
                payload = _reseal_job_payload(self._cipher, row["id"], row["payload"])
                new = None if payload is None else json.dumps({**row, "payload": payload})
                count += await self._swap(k.JOBS_DEAD, _s(entry_id), _s(old), new)
        for entry_id, old in (await self._redis.hgetall(k.OUTBOX_DEAD)).items():
            row = json.loads(_s(old))
            token = _reseal(self._cipher, row["payload"], OUTBOX_AAD + row["id"])
            new = None if token is None else json.dumps({**row, "payload": token})
            count += await self._swap(k.OUTBOX_DEAD, _s(entry_id), _s(old), new)
        return count
