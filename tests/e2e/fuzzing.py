"""What the fuzz tests of the platform endpoints share: a real ``oohbot serve`` process on a
SQLite store, raw HTTP requests, a local platform API on a thread of its own, and one run of
generated bad requests that checks each answer against the status its defect must get.

A run warms up first: the heaviest request of each kind, three times, then ``WARM_UP``
generated ones (lazy imports happen, caches fill, and the C allocator reaches the high-water
mark it keeps after large bodies are freed: without the heaviest requests first, a run
measured 1.13x from that alone, and flat after). Then it measures: the store before anything
was sent and after everything, the server's memory after the warm-up and at the end, where a
leak would grow with the 2,000 requests between. Mismatches are collected rather than raised
one by one, so a failure reports every defect that got a wrong answer, with counts and one
example each, and the exceptions the server logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.crypto import generate_key
from tests.bot.test_serve import _free_port, healthy

ROOT = Path(__file__).resolve().parents[2]
BAD_REQUESTS = 2_000
WARM_UP = 300
SHORT = 300
"""Every answer's body is shorter than this: a line, never a page or a traceback."""

JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


def not_json(raw: bytes | str) -> bool:
    """True for text JSON cannot read."""
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


def deep(depth: int) -> str:
    """JSON nested ``depth`` arrays deep."""
    return "[" * depth + "]" * depth


NOT_JSON = st.binary(min_size=1, max_size=64).filter(not_json)
DEPTHS = st.integers(min_value=40, max_value=50_000)
"""Deeper than any payload is, up to far beyond what a recursive parser survives."""
NOT_AN_OBJECT = JSON_VALUE.filter(lambda v: not isinstance(v, dict))
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)
"""Printable ASCII without spaces at either end (a header value the client sends as is)."""
T = TypeVar("T")
Doc = dict[str, Any]
FieldPath = tuple[str | int, ...]
Fields = dict[FieldPath, str]

# What a field of a payload must be: ``broken`` removes or empties the required ones and gives
# any of them a value of a type the kind does not allow.
ID = "id"  # present, a non-empty string
STR = "str"  # present, a string
OBJ = "obj"  # present, an object
LIST = "list"  # present, a non-empty list
ENTRY = "entry"  # may be absent (a map's entry, a list's item); if present an object
TEXT_ = "text?"  # absent, null or a string
OBJ_ = "obj?"  # absent, null or an object
LIST_ = "list?"  # absent, null or a list
BOOL_ = "bool?"  # absent, null or true/false
STR_OR_OBJ_ = "str|obj?"  # absent, null, a string or an object (Slack's ``team`` is either)
ALLOWED: dict[str, tuple[type, ...]] = {
    ID: (str,),
    STR: (str,),
    OBJ: (dict,),
    LIST: (list,),
    ENTRY: (dict,),
    TEXT_: (str, type(None)),
    OBJ_: (dict, type(None)),
    LIST_: (list, type(None)),
    BOOL_: (bool, type(None)),
    STR_OR_OBJ_: (str, dict, type(None)),
}


def _parent(doc: Doc, path: FieldPath) -> tuple[Any, str | int]:
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


def with_value(doc: Doc, path: FieldPath, value: Any) -> Doc:
    """A copy of ``doc`` with the field at ``path`` set to ``value``."""
    changed = copy.deepcopy(doc)
    parent, key = _parent(changed, path)
    parent[key] = value
    return changed


def without(doc: Doc, path: FieldPath) -> Doc:
    """A copy of ``doc`` without the field at ``path``."""
    changed = copy.deepcopy(doc)
    parent, key = _parent(changed, path)
    del parent[key]
    return changed


def wrong(kind: str) -> st.SearchStrategy[Any]:
    """A JSON value that is not what ``kind`` allows."""
    allowed = ALLOWED[kind]
    return JSON_VALUE.filter(lambda v: not isinstance(v, allowed))


@st.composite
def broken(draw: st.DrawFn, make: Callable[[int], Doc], fields: Fields) -> tuple[str, Doc]:
    """A payload from ``make`` with one of ``fields`` missing, empty or of the wrong type;
    returns the defect (``missing`` or ``wrong-type``) and the payload."""
    doc = make(draw(st.integers(0, 999_999)))
    required = [path for path, kind in fields.items() if kind in {ID, STR, OBJ, LIST}]
    if draw(st.booleans()):
        path = draw(st.sampled_from(required))
        empty = {ID: "", LIST: []}.get(fields[path])
        if empty is not None and draw(st.booleans()):
            return "missing", with_value(doc, path, empty)
        return "missing", without(doc, path)
    path = draw(st.sampled_from(sorted(fields, key=str)))
    return "wrong-type", with_value(doc, path, draw(wrong(fields[path])))


class Request(Protocol):
    """What ``Server.send`` sends."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Raw:
    """One HTTP request, as sent, and the status its defect must get."""

    defect: str
    expect: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    method: str = "POST"


@dataclass
class Server:
    """``oohbot serve`` running as a process of its own."""

    process: subprocess.Popen[bytes]
    port: int
    db: Path
    log: Path

    def send(self, request: Request) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.putrequest(request.method, request.path, skip_host=True)
            headers = {"Host": f"127.0.0.1:{self.port}", **request.headers}
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(request.body)))
            connection.endheaders()
            # The server may refuse early (413) and close: its answer is still there to read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.send(request.body)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        )

    def store(self) -> dict[str, list[str]]:
        """Every row of every table of the store."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}

    def logged_errors(self) -> Counter[str]:
        """The errors the server logged, as ``event: ExceptionType`` (traceback lines too)."""
        found: Counter[str] = Counter()
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Error" in line and not line.startswith(" "):
                    found[f"raw: {line.split(':')[0][:60]}"] += 1
                continue
            if isinstance(entry, dict) and entry.get("level") in {"error", "critical"}:
                found[f"{entry.get('event')}: {entry.get('error', '')}"] += 1
        return found


@contextlib.contextmanager
def serving(folder: Path, sections: dict[str, Any]) -> Iterator[Server]:
    """``oohbot serve --no-worker`` with the example directory, a SQLite store and
    ``sections`` of app.yaml; its log goes to ``folder/serve.log``."""
    port, db = _free_port(), folder / "data" / "oohbot.db"
    config = folder / "app.yaml"
    raw = {
        "service": {"listen": {"port": port}, "data_dir": str(db.parent), "log_level": "warning"},
        "store": {"url": f"sqlite:///{db}"},
        "directory": str(ROOT / "directory.example.yaml"),
        "web": {"enabled": False},
        **sections,
    }
    config.write_text(yaml.safe_dump(raw))
    log = folder / "serve.log"
    env = {**os.environ, "OOHBOT_ENCRYPTION_KEYS": generate_key()}
    env.pop("OOHBOT_CONFIG", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--no-worker", "--config", str(config)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        assert healthy(f"http://127.0.0.1:{port}", process), "oohbot serve did not start"
        yield Server(process, port, db, log)
    finally:
        process.terminate()
        process.wait(timeout=15)


class Background(Generic[T]):
    """An async context manager (a recording platform API) kept open on a thread of its own,
    so that a synchronous hypothesis test can use it while the server calls it."""

    def __init__(self, context: AbstractAsyncContextManager[T]) -> None:
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> T:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._context.__aenter__(), self._loop).result()

    def __exit__(self, *_: object) -> None:
        closing = self._context.__aexit__(None, None, None)
        asyncio.run_coroutine_threadsafe(closing, self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@dataclass
class Outcome:
    """What one run found: answers per defect and status, and every mismatch."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    wrong: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    examples: dict[tuple[str, int, int], str] = field(default_factory=dict)
    sent: int = 0

    def record(self, request: Raw, status: int, body: bytes) -> None:
        self.sent += 1
        self.answers[(request.defect, status)] += 1
        if status == request.expect and len(body) < SHORT and b"Traceback" not in body:
            return
        key = (request.defect, request.expect, status)
        self.wrong[key] += 1
        self.examples.setdefault(key, f"{request!r:.400} -> {body[:200]!r}")

    def summary(self) -> str:
        by_status = Counter[int]()
        for (_, status), count in self.answers.items():
            by_status[status] += count
        lines = [f"{self.sent} requests; by status {dict(sorted(by_status.items()))}"]
        lines.append(f"  by defect and status: {dict(sorted(self.answers.items()))}")
        for (defect, expect, status), count in sorted(self.wrong.items()):
            example = self.examples[(defect, expect, status)]
            lines.append(f"  {defect}: {count} answered {status}, not {expect}: {example}")
        return "\n".join(lines)


def fuzz(
    server: Server,
    requests: st.SearchStrategy[Raw],
    *,
    same: Callable[[], Any] = lambda: None,
    control: Raw | None = None,
    heaviest: Sequence[Raw] = (),
) -> Outcome:
    """Send ``heaviest`` (three times) and ``WARM_UP`` generated requests to warm up, then
    ``BAD_REQUESTS`` generated requests; assert each got the status
    of its defect with a short body, nothing was logged as an error, the store (and
    ``same()``) did not change from before the first request, memory stayed within 1.1x of
    what it was after the warm-up, and the server still runs. Then ``control``, a good
    request, must change the store: the comparison was not of two empty snapshots."""
    outcome = Outcome()
    store_before, same_before = server.store(), same()
    assert any(store_before.values()), "the server's store looks empty: is it the right file?"

    def send(request: Raw) -> None:
        status, body = server.send(request)
        outcome.record(request, status, body)

    run = settings(
        deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    for request in [*heaviest] * 3:
        send(request)
    settings(run, max_examples=WARM_UP)(given(requests)(send))()
    rss_before = server.rss_kb()
    settings(run, max_examples=BAD_REQUESTS)(given(requests)(send))()
    errors, store_after = server.logged_errors(), server.store()
    changed = {
        table: (len(rows), len(store_after.get(table, [])))
        for table, rows in store_before.items()
        if rows != store_after.get(table)
    }
    rss_after = server.rss_kb()
    print(f"\n{outcome.summary()}\nerrors logged: {dict(errors)}\ntables changed: {changed}")
    print(f"memory: {rss_before} KB after the warm-up, {rss_after} KB at the end")
    assert outcome.sent >= 3 * len(heaviest) + WARM_UP + BAD_REQUESTS
    assert not outcome.wrong, outcome.summary()
    assert not errors, f"bad requests logged errors: {dict(errors)}"
    assert store_after == store_before, f"bad requests changed the store: {changed}"
    assert same() == same_before, "a bad request had an effect outside the store"
    assert rss_after <= 1.1 * rss_before, (rss_before, rss_after)
    assert server.process.poll() is None
    if control is not None:
        assert server.send(control)[0] == control.expect
        assert server.store() != store_before, "a good request changed nothing either"
    return outcome
