"""The Teams app package: a valid manifest, icons of the right size, files at the zip root."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from adapters.teams.package import PackageError, build_package, main, manifest

APP_ID = "00000000-1111-2222-3333-444444444444"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_package_has_manifest_and_icons_at_the_root(tmp_path: Path) -> None:
    out = build_package(APP_ID, tmp_path / "app.zip", version="1.2.3")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        filled = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert filled["id"] == APP_ID and filled["bots"][0]["botId"] == APP_ID
    assert filled["version"] == "1.2.3"
    assert set(filled["bots"][0]["scopes"]) == {"personal", "team"}
    assert "{{" not in json.dumps(filled)
    assert len(filled["name"]["short"]) <= 30 and len(filled["description"]["short"]) <= 80


def test_outline_icon_is_white_on_transparent() -> None:
    data = (Path(__file__).parents[3] / "adapters/teams/manifest/outline.png").read_bytes()
    idat = data[data.index(b"IDAT") + 4 :]
    raw = zlib.decompressobj().decompress(idat)
    pixels = [raw[y * 129 + 1 : y * 129 + 129] for y in range(32)]
    for row in pixels:
        for i in range(0, len(row), 4):
            r, g, b, a = row[i : i + 4]
            assert (r, g, b) == (255, 255, 255) and a in {0, 255}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_id": "not-a-guid"}, "GUID"),
        ({"app_id": APP_ID, "website": "http://x"}, "https"),
        ({"app_id": APP_ID, "version": "1.0"}, "version"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(PackageError, match=message):
        manifest(**kwargs)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app-id", APP_ID, "--out", str(tmp_path / "x.zip")]) == 0
    assert (tmp_path / "x.zip").exists()
    assert main(["--app-id", "nope"]) == 2
    assert "GUID" in capsys.readouterr().err
