"""``oohbot requests show`` and ``oohbot requests export``: the case file for an operator, and
the evidence pack an IG lead files.

The evidence pack is the case file (``flows.casefile``) plus the request's audit entries and
the chain head at the time of export, so the pack can later be checked against the chain
(``oohbot audit verify --head``). HTML is escaped throughout and prints on A4 (a print
stylesheet: fixed table layout and wrapping, so no line is cut at the page edge).

Opening a case file from the command line is audited like opening it in a chat (actor
``operator``, no personal data in the entry).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.directory import load_directory
from bot.errors import NotFound
from bot.services import Warn, opened_store
from flows import casefile
from flows.request import Request
from store.base import AuditDraft, AuditEntry, Store, UnitOfWork

OPERATOR = "operator"


async def _load(
    store: Store, ref: str, settings: Settings, via: str
) -> tuple[casefile.CaseFile, list[AuditEntry], str]:
    stored = await store.get_request(ref)
    if stored is None:
        raise NotFound(
            f"no request with reference {ref!r}; 'oohbot requests list' shows the references"
        )
    request = Request.model_validate(stored.data)
    details = {"by": OPERATOR, "via": via}
    now = datetime.now(settings.service.zone)
    await store.commit(UnitOfWork(audit=[AuditDraft(now, OPERATOR, casefile.OPENED, ref, details)]))
    entries = await store.audit_entries(ref)
    chain = await store.audit_entries()
    rows = [(datetime.fromisoformat(e.at), e.actor, e.action) for e in entries]
    directory = load_directory(settings.directory)
    record = casefile.build(request, directory, settings.policy, settings.service.zone, rows)
    return record, entries, chain[-1].hash if chain else ""


async def show(settings: Settings, ref: str, fmt: str, warn: Warn) -> int:
    """Print the case file of ``ref`` (text or JSON); the opening is audited."""
    async with opened_store(settings, os.environ, warn=warn) as store:
        record, _, _ = await _load(store, ref, settings, "requests show")
    if fmt == "json":
        print(json.dumps(record.as_dict(), indent=2))
    else:
        print(casefile.as_text(record, settings.service.zone), end="")
    return 0


async def export(settings: Settings, ref: str, fmt: str, out: str | None, warn: Warn) -> int:
    """Write the evidence pack of ``ref`` (HTML or JSON) to ``out`` or standard output."""
    async with opened_store(settings, os.environ, warn=warn) as store:
        record, entries, head = await _load(store, ref, settings, "requests export")
    zone = settings.service.zone
    text = (
        render_html(record, entries, head, zone)
        if fmt == "html"
        else json.dumps(pack(record, entries, head), indent=2) + "\n"
    )
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def pack(record: casefile.CaseFile, entries: Sequence[AuditEntry], head: str) -> dict[str, Any]:
    """The evidence pack as JSON-able data."""
    return {
        "case_file": record.as_dict(),
        "audit": [_entry(e) for e in entries],
        "chain_head": head,
    }


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "details": entry.details,
        "hash": entry.hash,
    }


_STYLE = """
body { font: 11pt/1.4 Arial, sans-serif; color: #0b0c0c; margin: 2em; }
h1 { font-size: 18pt; } h2 { font-size: 14pt; margin-top: 1.5em; break-after: avoid; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid #b1b4b6;
  overflow-wrap: anywhere; word-break: break-word; white-space: pre-wrap; }
th { width: 32%; font-weight: bold; }
table.audit th, table.audit td { font-size: 8.5pt; width: auto; }
table.audit col.seq { width: 6%; } table.audit col.at { width: 20%; }
table.audit col.actor { width: 14%; } table.audit col.action { width: 20%; }
table.audit col.details { width: 40%; }
code { font-size: 8pt; overflow-wrap: anywhere; word-break: break-all; }
tr { break-inside: avoid; }
@page { size: A4; margin: 15mm; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""


def render_html(
    record: casefile.CaseFile, entries: Sequence[AuditEntry], head: str, zone: ZoneInfo
) -> str:
    """The evidence pack as one printable HTML page; every value is escaped."""
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Evidence pack {e(record.ref)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evidence pack: {e(record.title)}</h1>",
        "<p>Confidential: personal data. Keep and destroy under your retention policy.</p>",
    ]
    for section in record.sections:
        parts.append(f"<h2>{e(section.title)}</h2><table>")
        parts += [f"<tr><th>{e(x.label)}</th><td>{e(x.value)}</td></tr>" for x in section.entries]
        parts.append("</table>")
    parts.append("<h2>Timeline</h2><table>")
    parts += [
        f"<tr><th>{e(m.at.astimezone(zone).strftime('%a %d %b %Y %H:%M'))}</th>"
        f"<td>{e(m.what)}</td></tr>"
        for m in record.timeline
    ]
    parts.append("</table>")
    parts.append(_audit_table(entries))
    parts.append(f"<h2>Audit chain head</h2><p><code>{e(head or '(empty)')}</code></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _audit_table(entries: Sequence[AuditEntry]) -> str:
    e = html.escape
    cols = "".join(f'<col class="{c}">' for c in ("seq", "at", "actor", "action", "details"))
    head = "<tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Details</th></tr>"
    rows = [
        f"<tr><td>{x.seq}</td><td>{e(x.at)}</td><td>{e(x.actor)}</td><td>{e(x.action)}</td>"
        f"<td>{e(json.dumps(x.details, sort_keys=True))}</td></tr>"
        for x in entries
    ]
    return "\n".join(
        ["<h2>Audit entries</h2>", f'<table class="audit">{cols}{head}', *rows, "</table>"]
    )


__all__ = ["export", "pack", "render_html", "show"]
