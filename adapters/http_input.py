"""Reading a JSON request body defensively: a size limit, a nesting limit, one short 4xx each.

``json.loads`` recurses once per level of nesting, so ``[[[[…]]]]`` a hundred thousand deep
raises ``RecursionError`` (a 500) instead of a parse error. ``parse_json`` measures the depth
first, without recursion, and refuses anything deeper than ``MAX_DEPTH``. ``read_json`` adds
the HTTP side: 415 unless the body is JSON, 413 over the size limit, 400 for anything that
does not parse. Every platform endpoint can use it; none of it knows a platform.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from flows.errors import InvalidInput

MAX_DEPTH = 32
MAX_BYTES = 256 * 1024
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadJson(InvalidInput):
    """The text is not JSON oohbot will read; the message says why in a few words."""


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses bad UTF-8, bad JSON and nesting deeper than ``max_depth``
    with ``BadJson`` (never ``RecursionError``)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadJson("not UTF-8") from None
    if depth(text) > max_depth:
        raise BadJson(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except ValueError:  # JSONDecodeError, and int() refusing a 5,000-digit number
        raise BadJson("not valid JSON") from None


def depth(text: str) -> int:
    """The deepest nesting of ``[]``/``{}`` outside strings (an upper bound on bad input)."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        level += 1 if match.group() in "[{" else -1
        deepest = max(deepest, level)
    return deepest


async def read_json(request: web.Request, *, max_bytes: int = MAX_BYTES) -> Any:
    """The request's JSON body, or an HTTP error: 415 not JSON, 413 too large, 400 bad."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON (Content-Type: application/json).")
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes)
    raw = await _read_at_most(request, max_bytes)
    try:
        return parse_json(raw)
    except BadJson as error:
        raise web.HTTPBadRequest(text=f"The body is {error}.") from None


async def _read_at_most(request: web.Request, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(max_bytes + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=max_bytes, actual_size=max_bytes + 1, text=f"At most {max_bytes} bytes."
    )
