"""Node and the npm packages pinned in ``tools/package.json`` (locked by ``package-lock.json``).

``node_tools()`` installs them with ``npm ci`` the first time they are needed, or when the
installed versions are not the pinned ones, so the README's commands stay the only ones.

Two entries in ``package.json`` are there for ``@microsoft/app-manifest`` 1.1.2: ``fs-extra``,
which it requires without declaring it, and the ``strip-bom`` 4 override, the CommonJS build
of the same function (its own pick, strip-bom 5, is ESM only and needs Node 20.19+; Debian
bookworm has Node 18).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


class ToolMissing(RuntimeError):
    """Node, npm or the pinned npm packages are not available; the message says why."""


@dataclass(frozen=True)
class NodeTools:
    """Node, and ``tools/node_modules`` installed from the lock file."""

    node: str
    tools: Path

    def package(self, name: str) -> Path:
        """Where an installed npm package lives."""
        return self.tools / "node_modules" / name


_found: NodeTools | ToolMissing | None = None


def node_tools() -> NodeTools:
    """Node with the pinned npm packages (``npm ci`` when needed); ``ToolMissing`` if not.
    Decided once per process: a failed install is not retried for every caller."""
    global _found
    if _found is None:
        try:
            _found = _install()
        except ToolMissing as missing:
            _found = missing
    if isinstance(_found, ToolMissing):
        raise _found
    return _found


def _install() -> NodeTools:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise ToolMissing("node and npm are not installed (apt-get install nodejs npm)")
    with open(TOOLS / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs in one tree install once
        if not installed_as_pinned():
            _npm_ci(npm)
    return NodeTools(node, TOOLS)


def installed_as_pinned() -> bool:
    pinned: dict[str, str] = json.loads((TOOLS / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        installed = TOOLS / "node_modules" / name / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            return False
    return True


def _npm_ci(npm: str) -> None:
    command = [npm, "ci", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired as error:
        raise ToolMissing("npm ci in tools/ took over 10 minutes") from error
    if done.returncode != 0:
        raise ToolMissing(f"npm ci in tools/ failed: {done.stderr.strip()[-1000:]}")
