"""Encryption at rest: AES-GCM with the document's reference (or session key) as associated
data, and key rotation through key ids.

A sealed token reads ``g1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``. The key id lets
``open`` pick the right key without trial decryption and lets ``needs_rotation`` tell, without
decrypting, whether a token was sealed with an older key. Because the reference is bound in as
associated data, a blob copied onto another request fails to open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from store.base import Document, StoreError
from store.key_file import read_or_create
from store.keys import REQUEST_AAD, SEALED_FIELD, SEALED_KEYS, SESSION_AAD

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV_KEYS = "OOHBOT_ENCRYPTION_KEYS"
DEV_KEY_FILE = "encryption.key"
TOKEN_VERSION = "g1"
NONCE_BYTES = 12
GENERATE_HINT = (
    'python -c "import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
    " (or: oohbot keys generate)"
)


class KeyConfigError(StoreError):
    """The encryption keys are missing or malformed; the message says how to fix it."""

    explained = True


class DecryptionError(StoreError):
    """A sealed value could not be opened: unknown key, tampering, or moved to another record."""


def generate_key() -> str:
    """A fresh 32-byte AES key, urlsafe-base64 (the form ``OOHBOT_ENCRYPTION_KEYS`` takes)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _key_id(key: bytes) -> str:
    # A short digest, not the key: safe to store beside the ciphertext.
    return hashlib.sha256(b"oohbot-key-id:" + key).hexdigest()[:8]


def _decode_key(text: str, position: int) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise KeyConfigError(
            f"{ENV_KEYS}: key #{position} is not urlsafe-base64 of 32 bytes; "
            f"generate one with {GENERATE_HINT}"
        )
    return key


AES_KEY_BYTES = (16, 24, 32)


class Cipher:
    """Seals JSON-able values with the newest key; opens with any known key.

    The AES-GCM objects, and with them the ``cryptography`` library (its compiled core is
    about 7 MiB resident), are made on the first seal or open: a process that is only
    started, or a command that never decrypts, does not load it."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyConfigError(f"no encryption key; generate one with {GENERATE_HINT}")
        for key in keys:
            if len(key) not in AES_KEY_BYTES:  # what AESGCM(key) refuses
                raise ValueError("AESGCM key must be 128, 192, or 256 bits.")
        self._newest = _key_id(keys[0])
        self._keys = {_key_id(key): bytes(key) for key in keys}
        self._aeads: dict[str, AESGCM] = {}

    def _aead(self, key_id: str) -> AESGCM:
        """The AES-GCM of the held key ``key_id``, made once."""
        aead = self._aeads.get(key_id)
        if aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            aead = self._aeads[key_id] = AESGCM(self._keys[key_id])
        return aead

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys held, newest (the one ``seal`` uses) first. An id is a short
        digest, safe to show: it tells which key sealed a value, not the key."""
        return tuple(self._keys)

    @classmethod
    def from_strings(cls, keys: Sequence[str]) -> Cipher:
        """Build from urlsafe-base64 keys, newest first."""
        return cls([_decode_key(key, n) for n, key in enumerate(keys, 1)])

    def seal(self, value: Any, aad: str) -> str:
        """Encrypt ``value`` (JSON-able) bound to ``aad``."""
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead(self._newest).encrypt(nonce, plaintext, aad.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{TOKEN_VERSION}.{self._newest}.{body}"

    def open(self, token: str, aad: str) -> Any:
        """Decrypt a token made by ``seal`` with the same ``aad``; ``DecryptionError`` if not."""
        version, key_id, body = _split(token)
        if version != TOKEN_VERSION or key_id not in self._keys:
            raise DecryptionError(f"sealed value for {aad!r} uses an unknown key ({key_id})")
        aead = self._aead(key_id)
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode())
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise DecryptionError(
                f"sealed value for {aad!r} does not open: tampered, or copied from another record"
            ) from error
        return json.loads(plaintext)

    def needs_rotation(self, token: str) -> bool:
        """True if ``token`` was sealed with a key other than the newest."""
        return _split(token)[1] != self._newest


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".", 2)
    if len(parts) != 3:
        raise DecryptionError("not a sealed value")
    return parts[0], parts[1], parts[2]


def load_cipher(
    env: Mapping[str, str],
    data_dir: Path,
    environment: Literal["development", "production"],
) -> tuple[Cipher, str | None]:
    """The cipher from ``OOHBOT_ENCRYPTION_KEYS`` (comma-separated, newest first).

    Without it, production refuses (``KeyConfigError``); development uses, or creates,
    ``data_dir/encryption.key`` (mode 0600) and returns a warning to log.
    """
    configured = [key.strip() for key in env.get(ENV_KEYS, "").split(",") if key.strip()]
    if configured:
        return Cipher.from_strings(configured), None
    if environment == "production":
        raise KeyConfigError(f"{ENV_KEYS} is not set; generate a key with {GENERATE_HINT}")
    return _dev_cipher(data_dir / DEV_KEY_FILE)


def _dev_cipher(path: Path) -> tuple[Cipher, str]:
    key, created = read_or_create(path, generate_key)
    if created:
        note = (
            f"generated a development encryption key in {path}; back it up with the data, "
            f"and set {ENV_KEYS} in production"
        )
    else:
        note = f"using the development encryption key in {path}; set {ENV_KEYS} in production"
    return Cipher.from_strings([key]), note


# --- document codec ------------------------------------------------------------------------


def seal_request(cipher: Cipher, ref: str, data: Document) -> str:
    """A request as stored: JSON text with ``SEALED_KEYS`` replaced by one blob bound to ``ref``."""
    if SEALED_FIELD in data:
        raise StoreError(f"request documents may not use the reserved key {SEALED_FIELD!r}")
    stored = {key: value for key, value in data.items() if key not in SEALED_KEYS}
    private = {key: data[key] for key in SEALED_KEYS if key in data}
    if private:
        stored[SEALED_FIELD] = cipher.seal(private, REQUEST_AAD + ref)
    return json.dumps(stored, separators=(",", ":"), ensure_ascii=False)


def open_request(cipher: Cipher, ref: str, text: str) -> Document:
    """Inverse of ``seal_request``."""
    stored: Document = json.loads(text)
    token = stored.pop(SEALED_FIELD, None)
    if token is not None:
        stored.update(cipher.open(token, REQUEST_AAD + ref))
    return stored


def reseal_request(cipher: Cipher, ref: str, text: str) -> str | None:
    """The stored text re-sealed with the newest key, or None if it is already current."""
    token = json.loads(text).get(SEALED_FIELD)
    if token is None or not cipher.needs_rotation(token):
        return None
    return seal_request(cipher, ref, open_request(cipher, ref, text))


def seal_session(cipher: Cipher, key: str, data: Document) -> str:
    """A session as stored: the whole document sealed, bound to the session key."""
    return cipher.seal(data, SESSION_AAD + key)


def open_session(cipher: Cipher, key: str, token: str) -> Document:
    """Inverse of ``seal_session``."""
    data: Document = cipher.open(token, SESSION_AAD + key)
    return data


def reseal_session(cipher: Cipher, key: str, token: str) -> str | None:
    """The token re-sealed with the newest key, or None if it is already current."""
    if not cipher.needs_rotation(token):
        return None
    return seal_session(cipher, key, open_session(cipher, key, token))


INBOX_AAD = "inbox:"
OUTBOX_AAD = "outbox:"
INBOX_FIELD = "_sealed"
INBOX_EVENT = "event"


def seal_job_payload(cipher: Cipher, job_id: str, payload: Document, event: Document) -> Document:
    """An inbox job's stored payload: its plain fields plus the event, sealed to the job id."""
    return {**payload, INBOX_FIELD: cipher.seal(event, INBOX_AAD + job_id)}


def open_job_payload(cipher: Cipher, job_id: str, stored: Document) -> Document:
    """The payload callers see: a sealed event opened under ``"event"``; others unchanged."""
    if INBOX_FIELD not in stored:
        return stored
    plain = {key: value for key, value in stored.items() if key != INBOX_FIELD}
    plain[INBOX_EVENT] = cipher.open(stored[INBOX_FIELD], INBOX_AAD + job_id)
    return plain


def seal_outgoing(cipher: Cipher, entry_id: str, payload: Document) -> str:
    """An outbox entry's payload (recipient and message), sealed to the entry id."""
    return cipher.seal(payload, OUTBOX_AAD + entry_id)


def open_outgoing(cipher: Cipher, entry_id: str, token: str) -> Document:
    """Inverse of ``seal_outgoing``."""
    payload: Document = cipher.open(token, OUTBOX_AAD + entry_id)
    return payload


CONSOLE_AAD = "console:"


def seal_console(cipher: Cipher, box: str, entry_id: str, entry: Document) -> str:
    """A console entry (it may show personal details), sealed to its box and id."""
    return cipher.seal(entry, f"{CONSOLE_AAD}{box}:{entry_id}")


def open_console(cipher: Cipher, box: str, entry_id: str, token: str) -> Document:
    entry: Document = cipher.open(token, f"{CONSOLE_AAD}{box}:{entry_id}")
    return entry
