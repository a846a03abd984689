"""The SQLite store's files hold personal data: only the service's user may read them."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from tests.night import open_test_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_files_and_folder_are_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "oohbot.db"
    store = await open_test_store(f"sqlite:///{db}")
    try:
        await store.append_audit(datetime.now(UTC), "system", "test.written", "", {})
        files = sorted(db.parent.iterdir())
        assert [f.name for f in files] == ["oohbot.db", "oohbot.db-shm", "oohbot.db-wal"]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(db.parent) == 0o700
    finally:
        await store.close()


async def test_an_old_world_readable_file_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "oohbot.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    store = await open_test_store(f"sqlite:///{db}")
    await store.close()
    assert _mode(db) == 0o600
