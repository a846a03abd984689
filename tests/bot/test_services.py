"""Start-up checks: what refuses to start, what only warns."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.config import Settings, parse_settings
from bot.errors import DirectoryProblems
from bot.services import load_checked_directory, load_keys
from tests.bot.test_cli import ROOT


def _settings(tmp_path: Path, directory: dict[str, object]) -> Settings:
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory))
    return parse_settings({"directory": str(path), "service": {"data_dir": "data"}}, {}, tmp_path)


def _example() -> dict[str, object]:
    raw: dict[str, object] = yaml.safe_load((ROOT / "directory.example.yaml").read_text())
    return raw


def test_an_expired_officer_is_only_a_warning(tmp_path: Path) -> None:
    raw = _example()
    officers = raw["officers"]
    assert isinstance(officers, list)
    officers[1]["valid_until"] = date(2020, 1, 1)
    warnings: list[tuple[str, str]] = []
    load_checked_directory(_settings(tmp_path, raw), lambda *w: warnings.append(w))
    assert [event for event, _ in warnings] == ["directory_problem"]
    assert "officers[1] (tom.reyes): expired on 2020-01-01" in warnings[0][1]


def test_an_empty_rota_refuses(tmp_path: Path) -> None:
    raw = _example()
    raw["spoc"] = {"rota": []}
    with pytest.raises(DirectoryProblems, match=r"spoc\.rota: the SPOC rota is empty"):
        load_checked_directory(_settings(tmp_path, raw))


def test_the_data_folder_is_created_private(tmp_path: Path) -> None:
    warnings: list[tuple[str, str]] = []
    load_keys(_settings(tmp_path, _example()), {}, lambda *w: warnings.append(w))
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert [event for event, _ in warnings] == ["encryption_key"]


def test_an_open_data_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(mode=0o755)
    (tmp_path / "data").chmod(0o755)
    warnings: list[tuple[str, str]] = []
    load_keys(_settings(tmp_path, _example()), {}, lambda *w: warnings.append(w))
    assert "chmod 700" in dict(warnings)["data_dir_permissions"]
