"""The subject-access blind index: a keyed hash (HMAC-SHA256) of a person's normalised last
name and date of birth, so that every request about one person can be found without storing
either in plain text.

The index key is separate from the encryption keys (``OOHBOT_INDEX_KEY``): a leaked index
reveals nothing without it, and destroying a request's data key leaves the index key in use.
The store writes a request's digests in the same transaction as the request and removes them
when the request's personal data is destroyed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from store.base import Document
from store.crypto import KeyConfigError, generate_key
from store.key_file import read_or_create

ENV_INDEX_KEY = "OOHBOT_INDEX_KEY"
DEV_INDEX_FILE = "index.key"
# The answer keys the intake conversation uses for the subject (flows/forms.py); the store
# may not import flows, so they are named here as store/keys.py names the sealed keys.
LAST_NAME = "subject.last_name"
DATE_OF_BIRTH = "subject.dob"
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalise_name(name: str) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not matter: ``O'Neil-Smith`` and
    ``oneil smith`` are one name."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = (c for c in decomposed if not unicodedata.combining(c) and c.isalnum())
    return "".join(letters).casefold()


class BlindIndex:
    """Digests of (last name, date of birth) under one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise KeyConfigError(f"{ENV_INDEX_KEY}: the index key must be 32 bytes or more")
        self._key = key

    @classmethod
    def from_string(cls, text: str) -> BlindIndex:
        """From urlsafe-base64 (as ``oohbot keys generate`` prints)."""
        try:
            key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            key = b""
        if len(key) != 32:
            raise KeyConfigError(
                f"{ENV_INDEX_KEY} is not urlsafe-base64 of 32 bytes; generate one with "
                "oohbot keys generate"
            )
        return cls(key)

    def digest(self, last_name: str, dob: str) -> str:
        """The index entry of one person (``dob`` as ``YYYY-MM-DD``)."""
        message = f"subject:{normalise_name(last_name)}|{dob.strip()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def of_request(self, data: Document) -> list[str]:
        """The digests a request document is found by: its subject's, when both the last name
        and a full date of birth are known, and those of the subject as earlier versions
        (before a correction) recorded them."""
        answers = data.get("answers") or {}
        found = [self._of_answers(answers)]
        for version in data.get("versions") or []:
            earlier = version.get("answers") if isinstance(version, dict) else None
            if earlier:
                found.append(self._of_answers({**answers, **earlier}))
        return list(dict.fromkeys(digest for digest in found if digest))

    def _of_answers(self, answers: Document) -> str | None:
        last, dob = answers.get(LAST_NAME), answers.get(DATE_OF_BIRTH)
        if not isinstance(last, str) or not isinstance(dob, str) or not _FULL_DATE.match(dob):
            return None
        if not normalise_name(last):
            return None
        return self.digest(last, dob)


def load_index(
    env: Mapping[str, str],
    data_dir: Path,
    environment: Literal["development", "production"],
) -> BlindIndex:
    """The index key from ``OOHBOT_INDEX_KEY``; in development, without it, the key in
    ``data_dir/index.key`` (created 0600 on first use). Unlike the encryption key this needs no
    warning: losing it loses no data, only the index (rebuilt as requests are rewritten), and
    production refuses to start without it."""
    configured = env.get(ENV_INDEX_KEY, "").strip()
    if configured:
        return BlindIndex.from_string(configured)
    if environment == "production":
        raise KeyConfigError(
            f"{ENV_INDEX_KEY} is not set; generate a key with oohbot keys generate "
            "(keep it apart from OOHBOT_ENCRYPTION_KEYS)"
        )
    key, _ = read_or_create(data_dir / DEV_INDEX_FILE, generate_key)
    return BlindIndex.from_string(key)
