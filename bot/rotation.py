"""Key rotation's safety check: every running service must seal with the newest key first.

``oohbot keys rotate`` re-encrypts every stored value with the newest key. A service that does
not hold that key could then no longer read what it stores (its status views and reminders
would fail), and one that holds it but still seals with an older key would keep writing values
that break once the older key is dropped. So before rotating, the command asks each service
(``GET /readyz`` reports the key ids a service holds, newest first) and refuses unless each
one's newest key is the newest key of the rotation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from bot.config import Listen
from bot.errors import ROTATION_HELP, KeyMismatch, Unavailable
from store.crypto import Cipher

TIMEOUT_SECONDS = 3.0
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def default_url(listen: Listen) -> str:
    """The local service this configuration describes (a wildcard host → loopback)."""
    host = WILDCARDS.get(listen.host, listen.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{listen.port}"


def check_services(cipher: Cipher, urls: Sequence[str], explicit: bool) -> list[str]:
    """Raise ``KeyMismatch`` unless every service that answers seals with the newest key;
    return notes about services that did not answer (``Unavailable`` if ``explicit``)."""
    notes = []
    for url in urls:
        keys = _service_keys(url, explicit)
        if keys is None:
            notes.append(
                f"no oohbot answered at {url}; if one runs elsewhere, pass --service URL "
                "for each of them"
            )
            continue
        _require_newest(url, keys, cipher.key_ids[0])
    return notes


def _require_newest(url: str, keys: list[str], newest: str) -> None:
    if keys and keys[0] == newest:
        return
    now = f"seals with key {keys[0]}" if keys else "does not say which keys it holds"
    raise KeyMismatch(
        f"the service at {url} {now}, not the newest key {newest}: restart every service "
        f"with OOHBOT_ENCRYPTION_KEYS=<new>,<old> first, then rotate ({ROTATION_HELP})"
    )


def _service_keys(url: str, explicit: bool) -> list[str] | None:
    """The key ids a service reports; None if nothing answered and it was not asked for."""
    try:
        body = _get_json(f"{url.rstrip('/')}/readyz")
    except (OSError, ValueError) as error:
        if explicit:
            raise Unavailable(f"--service {url}: no answer ({_reason(error)})") from None
        return None
    keys = body.get("keys") if isinstance(body, dict) else None
    return [str(k) for k in keys] if isinstance(keys, list) else []


def _get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 503 (store not ready) still names the keys
        return json.loads(error.read())


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return str(reason)
