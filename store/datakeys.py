"""Per-request data keys (envelope encryption), so that destroying one key shreds one request.

A request's personal data (``SEALED_KEYS``) is sealed under a random data key of its own; the
data key is stored apart from the request, wrapped (sealed) by the service keys. Deleting the
wrapped data key makes every copy of that request's sealed bytes unreadable with any service
key, while the request's plain fields (ids, states, times) stay. Key rotation re-wraps the
data keys; the sealed documents themselves never need re-sealing.

Requests written before data keys existed were sealed directly under a service key: they still
open (the token's key id says which key sealed it) and get a data key on their next write or at
``oohbot keys rotate``.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime

from store.base import Document, StoreError
from store.crypto import Cipher
from store.keys import REQUEST_AAD, SEALED_FIELD, SEALED_KEYS

DATA_KEY_AAD = "datakey:"
DESTROYED = "destroyed_at"
"""Top-level key of a request whose data key was destroyed (the date it was)."""


def new_data_key() -> bytes:
    """A fresh random 32-byte AES key."""
    return os.urandom(32)


def wrap(cipher: Cipher, ref: str, key: bytes) -> str:
    """``key`` sealed with the newest service key, bound to ``ref``."""
    return cipher.seal(base64.urlsafe_b64encode(key).decode("ascii"), DATA_KEY_AAD + ref)


def unwrap(cipher: Cipher, ref: str, wrapped: str) -> bytes:
    """Inverse of ``wrap`` (``DecryptionError`` if no service key opens it)."""
    return base64.urlsafe_b64decode(str(cipher.open(wrapped, DATA_KEY_AAD + ref)).encode("ascii"))


def rewrap(cipher: Cipher, ref: str, wrapped: str) -> str | None:
    """The wrapped key re-wrapped with the newest service key, or None if already current."""
    if not cipher.needs_rotation(wrapped):
        return None
    return wrap(cipher, ref, unwrap(cipher, ref, wrapped))


def is_destroyed(data: Document) -> bool:
    """True for a request whose personal data was destroyed."""
    return bool(data.get(DESTROYED))


def needs_key(data: Document) -> bool:
    """True if the request holds personal data to seal (and so needs a data key)."""
    return not is_destroyed(data) and any(name in data for name in SEALED_KEYS)


def seal_document(ref: str, data: Document, key: bytes | None) -> str:
    """A request as stored: ``SEALED_KEYS`` sealed under its data ``key`` into one blob.

    A destroyed request has no key and may hold no personal data (empty values are dropped)."""
    if SEALED_FIELD in data:
        raise StoreError(f"request documents may not use the reserved key {SEALED_FIELD!r}")
    stored = {name: value for name, value in data.items() if name not in SEALED_KEYS}
    private = {name: data[name] for name in SEALED_KEYS if name in data}
    if is_destroyed(data):
        if any(private.values()):
            raise StoreError(f"request {ref} was destroyed: it may not hold personal data again")
    elif private:
        if key is None:
            raise StoreError(f"request {ref} has no data key")
        stored[SEALED_FIELD] = Cipher([key]).seal(private, REQUEST_AAD + ref)
    return json.dumps(stored, separators=(",", ":"), ensure_ascii=False)


def open_document(cipher: Cipher, ref: str, text: str, wrapped: str | None) -> Document:
    """Inverse of ``seal_document``: opened with the request's data key (``wrapped``), or with
    the service keys for a request sealed before data keys. A destroyed request comes back
    with its plain fields only."""
    stored: Document = json.loads(text)
    token = stored.pop(SEALED_FIELD, None)
    if token is None or is_destroyed(stored):
        return stored
    opener = cipher
    if wrapped is not None:
        data_cipher = Cipher([unwrap(cipher, ref, wrapped)])
        if not data_cipher.needs_rotation(token):
            opener = data_cipher
    stored.update(opener.open(token, REQUEST_AAD + ref))
    return stored


def sealed_with_service_key(cipher: Cipher, text: str) -> bool:
    """True for a stored request sealed directly under a service key (before data keys)."""
    token = json.loads(text).get(SEALED_FIELD)
    if not isinstance(token, str):
        return False
    parts = token.split(".", 2)
    return len(parts) == 3 and parts[1] in cipher.key_ids


def closed_at(data: Document) -> float | None:
    """When a request ended (closed or withdrawn), as epoch seconds; None while it runs or
    once its data is destroyed (it then leaves the index of closed requests)."""
    if is_destroyed(data):
        return None
    moment = data.get("closed_at") or data.get("withdrawn_at")
    if not isinstance(moment, str) or not moment:
        return None
    return datetime.fromisoformat(moment).timestamp()
