"""Build the Teams app package (``manifest.json`` + two icons, zipped) for upload to Teams.

    python -m adapters.teams.package --app-id <bot app id> [--out oohbot-teams.zip]
        [--website https://…] [--developer "Devon & Cornwall Police"] [--version 1.0.0]

The app id is the Azure Bot's Microsoft App ID (``teams.app_id``); the manifest uses it both
as the Teams app id and as the bot id.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from flows.errors import InvalidInput

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
FILES = ("manifest.json", "color.png", "outline.png")
DEFAULT_WEBSITE = "https://github.com/oohbot/oohbot"


class PackageError(InvalidInput):
    """The package cannot be built with these values."""


def manifest(
    app_id: str,
    *,
    website: str = DEFAULT_WEBSITE,
    developer: str = "oohbot",
    version: str = "0.1.0",
) -> dict[str, object]:
    """The filled-in manifest; ``PackageError`` names a bad value."""
    if not GUID.match(app_id):
        raise PackageError(f"--app-id {app_id!r} is not a GUID: use the Azure Bot's App ID")
    if not website.startswith("https://"):
        raise PackageError("--website must be an https:// URL (Teams requires it)")
    if not SEMVER.match(version):
        raise PackageError("--version must look like 1.0.0")
    template = _read("manifest.json").decode("utf-8")
    values = {
        "APP_ID": app_id,
        "WEBSITE_URL": website,
        "DEVELOPER_NAME": developer,
        "VERSION": version,
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", json.dumps(value)[1:-1])
    filled: dict[str, object] = json.loads(template)
    return filled


def build_package(
    app_id: str,
    out: Path,
    *,
    website: str = DEFAULT_WEBSITE,
    developer: str = "oohbot",
    version: str = "0.1.0",
) -> Path:
    """Write the zip Teams expects (files at the root of the archive); return its path."""
    filled = manifest(app_id, website=website, developer=developer, version=version)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(filled, indent=2, ensure_ascii=False))
        for name in FILES[1:]:
            archive.writestr(name, _read(name))
    return out


def _read(name: str) -> bytes:
    return resources.files("adapters.teams").joinpath("manifest", name).read_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.teams.package", description=__doc__)
    parser.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID")
    parser.add_argument("--out", type=Path, default=Path("oohbot-teams.zip"))
    parser.add_argument("--website", default=DEFAULT_WEBSITE, help="https URL shown in Teams")
    parser.add_argument("--developer", default="oohbot", help="publisher name shown in Teams")
    parser.add_argument("--version", default="0.1.0", help="app version, e.g. 1.0.0")
    args = parser.parse_args(argv)
    try:
        path = build_package(
            args.app_id,
            args.out,
            website=args.website,
            developer=args.developer,
            version=args.version,
        )
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}: upload it in Teams → Apps → Manage your apps → Upload an app")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
