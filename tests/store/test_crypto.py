"""Cipher, key loading and the document codec."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from store.base import StoreError
from store.crypto import (
    Cipher,
    DecryptionError,
    KeyConfigError,
    generate_key,
    load_cipher,
    open_request,
    open_session,
    seal_request,
    seal_session,
)
from store.keys import SEALED_FIELD

KEY_A, KEY_B = generate_key(), generate_key()


def test_generate_key_is_32_urlsafe_bytes() -> None:
    assert len(base64.urlsafe_b64decode(generate_key())) == 32
    assert generate_key() != generate_key()


def test_seal_open_round_trip_and_nonce() -> None:
    cipher = Cipher.from_strings([KEY_A])
    value = {"name": "Ånne", "n": [1, 2.5, None]}
    first, second = cipher.seal(value, "R/1"), cipher.seal(value, "R/1")
    assert first != second  # fresh nonce each time
    assert cipher.open(first, "R/1") == value
    assert "Ånne" not in first


def test_wrong_aad_fails() -> None:
    cipher = Cipher.from_strings([KEY_A])
    with pytest.raises(DecryptionError, match="R/2"):
        cipher.open(cipher.seal("x", "R/1"), "R/2")


def test_tampered_token_fails() -> None:
    cipher = Cipher.from_strings([KEY_A])
    token = cipher.seal({"a": 1}, "R")
    body = bytearray(base64.urlsafe_b64decode(token.split(".")[2]))
    body[-1] ^= 1
    forged = token.rsplit(".", 1)[0] + "." + base64.urlsafe_b64encode(bytes(body)).decode()
    with pytest.raises(DecryptionError):
        cipher.open(forged, "R")
    with pytest.raises(DecryptionError):
        cipher.open("garbage", "R")


def test_rotation_reads_old_writes_new() -> None:
    old, both, new = (Cipher.from_strings(k) for k in ([KEY_A], [KEY_B, KEY_A], [KEY_B]))
    token = old.seal("v", "R")
    assert both.needs_rotation(token) and not old.needs_rotation(token)
    resealed = both.seal(both.open(token, "R"), "R")
    assert not both.needs_rotation(resealed)
    assert new.open(resealed, "R") == "v"
    with pytest.raises(DecryptionError, match="unknown key"):
        new.open(token, "R")


def test_decryption_error_is_a_store_error() -> None:
    assert issubclass(DecryptionError, StoreError)


def test_load_cipher_from_env_newest_first(tmp_path: Path) -> None:
    cipher, warning = load_cipher(
        {"OOHBOT_ENCRYPTION_KEYS": f" {KEY_B} , {KEY_A} "}, tmp_path, "production"
    )
    assert warning is None
    assert Cipher.from_strings([KEY_B]).open(cipher.seal(1, "R"), "R") == 1
    assert cipher.open(Cipher.from_strings([KEY_A]).seal(2, "R"), "R") == 2
    assert not (tmp_path / "encryption.key").exists()


def test_malformed_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="key #2"):
        load_cipher({"OOHBOT_ENCRYPTION_KEYS": f"{KEY_A},c2hvcnQ="}, tmp_path, "development")


def test_production_without_keys_refuses_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError) as error:
        load_cipher({}, tmp_path, "production")
    message = str(error.value)
    assert "OOHBOT_ENCRYPTION_KEYS" in message and "python -c" in message
    assert "\n" not in message


def test_development_generates_then_reuses_a_private_key_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first, warning = load_cipher({}, data_dir, "development")
    key_file = data_dir / "encryption.key"
    assert warning is not None and "generated" in warning
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second, _ = load_cipher({}, data_dir, "development")
    assert second.open(first.seal("kept", "R"), "R") == "kept"


def test_request_codec_seals_only_personal_keys() -> None:
    cipher = Cipher.from_strings([KEY_A])
    doc = {"ref": "R/1", "state": "paged", "answers": {"x": "secret"}, "decision_note": "n"}
    stored = seal_request(cipher, "R/1", doc)
    visible = json.loads(stored)
    assert set(visible) == {"ref", "state", SEALED_FIELD}
    assert "secret" not in stored
    assert open_request(cipher, "R/1", stored) == doc
    assert SEALED_FIELD not in json.loads(seal_request(cipher, "R/2", {"ref": "R/2"}))
    with pytest.raises(DecryptionError):
        open_request(cipher, "R/2", stored)


def test_session_codec_binds_the_session_key() -> None:
    cipher = Cipher.from_strings([KEY_A])
    token = seal_session(cipher, "slack:T:U1", {"state": "collecting"})
    assert open_session(cipher, "slack:T:U1", token) == {"state": "collecting"}
    with pytest.raises(DecryptionError):
        open_session(cipher, "slack:T:U2", token)
    with pytest.raises(DecryptionError):  # a session blob is not a request blob
        cipher.open(token, "request:slack:T:U1")
