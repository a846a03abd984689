"""Try oohbot in Microsoft's Teams emulator, the Microsoft 365 Agents Playground, on this machine.

    .venv/bin/python -m tools.playground [--port 3978] [--playground-port 56150] [--no-browser]

Starts ``oohbot serve`` with Teams on (development mode on loopback: no Azure, no tunnel) and
its web console, then the Playground (``@microsoft/m365agentsplayground``, pinned in
``tools/package.json`` and installed by ``npm ci`` on first use) connected to it. In the
Playground you are Amara Okafor, an on-call manager from the example directory: say "hi".
Be the SPOC in the web console (``/?as=di.marsh``); the outcome, and the reminders once you
move the console's development clock on, arrive in the Playground. Ctrl-C stops both. Data
lives in ``data/playground/``.

The end-to-end test ``tests/e2e/test_playground_night.py`` uses the same pieces.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.npm import NodeTools, ToolMissing, node_tools

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "@microsoft/m365agentsplayground"


@dataclass(frozen=True)
class PlaygroundUser:
    """Who you are in the Playground, and the directory officer that identity belongs to."""

    officer: str
    given_name: str
    surname: str
    aad_object_id: str
    tenant_id: str

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


# Fictional ids, like everything in directory.example.yaml.
AMARA = PlaygroundUser(
    "amara.okafor",
    "Amara",
    "Okafor",
    "00000000-0000-4000-8000-0000000a0001",
    "00000000-0000-4000-8000-00000000d001",
)

COLLEAGUES = tuple(
    PlaygroundUser("", given, surname, f"00000000-0000-4000-8000-0000000a000{n}", AMARA.tenant_id)
    for n, (given, surname) in enumerate(
        [
            ("Gwen", "Hollis"),
            ("Ifan", "Price"),
            ("Tom", "Reyes"),
            ("Nia", "Hale"),
            ("Owen", "Tate"),
        ],
        start=2,
    )
)
"""The five colleagues the Playground insists on; here none has a Teams identity in oohbot."""


def playground_config(
    user: PlaygroundUser, colleagues: Sequence[PlaygroundUser] = COLLEAGUES
) -> dict[str, Any]:
    """The Playground's mock Teams context (its ``config.schema.json``): you are ``user``."""

    def person(index: int, who: PlaygroundUser) -> dict[str, str]:
        email = f"{who.given_name}.{who.surname}@example.org".lower()
        return {
            "id": f"user-id-{index}",
            "name": who.name,
            "userPrincipleName": email,  # sic: the Playground's spelling
            "aadObjectId": who.aad_object_id,
            "givenName": who.given_name,
            "surname": who.surname,
            "email": email,
        }

    return {
        "version": "0.1.1",
        "tenantId": user.tenant_id,
        "bot": {"id": "00000000-0000-4000-8000-00000000b011", "name": "oohbot"},
        "currentUser": person(0, user),
        "users": [person(n, who) for n, who in enumerate(colleagues, start=1)],
        "personalChat": {"id": "__PERSONAL_CHAT_ID__"},
        "groupChat": {"id": "__GROUP_CHAT_ID__", "name": "Group chat"},
        "team": {
            "id": "team-id",
            "name": "Downland Partnership",
            "aadGroupId": "00000000-0000-4000-8000-00000000c031",
            "channels": [{"id": "channel-on-call-id", "name": "On call"}],
        },
    }


def directory_with(user: PlaygroundUser, directory: Path, out: Path) -> Path:
    """A copy of ``directory`` in which ``user.officer`` has the Playground user's Teams
    identity (the stable ids oohbot matches on)."""
    raw = yaml.safe_load(directory.read_text(encoding="utf-8"))
    [officer] = [o for o in raw["officers"] if o["id"] == user.officer]
    officer["teams"] = {"aad_object_id": user.aad_object_id, "tenant_id": user.tenant_id}
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out


def playground_command(
    tools: NodeTools,
    endpoint: str,
    port: int,
    config: Path,
    log: Path,
    browser: bool,
    recording: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start the Playground against ``endpoint``."""
    cli = tools.package(PACKAGE) / "cli.js"
    command = [tools.node, str(cli), "start", "--app-endpoint", endpoint, "--channel-id"]
    command += ["msteams", "--port", str(port), "--disable-telemetry"]
    env = {
        **os.environ,
        "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(config),
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(log),
    }
    if recording is not None:
        command.append("--enable-events-recording")
        env["M365_AGENTS_PLAYGROUND_RECORDING_FILE"] = str(recording)
    if not browser:
        env["TEAMSAPPTESTER_BROWSER"] = "none"
    return command, env


def start_playground(
    endpoint: str,
    workdir: Path,
    user: PlaygroundUser = AMARA,
    colleagues: Sequence[PlaygroundUser] = COLLEAGUES,
    port: int = 0,
    browser: bool = False,
    recording: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the Playground for ``user`` against the bot at ``endpoint``; return the process
    and the address of its web UI (call ``wait_until_up`` on it). With ``recording`` the
    Playground writes every activity both ways to that file (``recorded_events``)."""
    tools = node_tools()
    config = workdir / "playground.yml"
    raw = playground_config(user, colleagues)
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    port = port or free_port()
    log = workdir / "playground.log"
    command, env = playground_command(tools, endpoint, port, config, log, browser, recording)
    with (workdir / "playground.out").open("wb") as output:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=output, stderr=output)
    return process, f"http://127.0.0.1:{port}"


def recorded_events(recording: Path) -> list[dict[str, Any]]:
    """The Playground's events recording: one JSON document per activity, both directions
    (``direction``, ``conversationId``, ``request.body``, ``response.statusCode``)."""
    if not recording.exists():
        return []
    text = recording.read_text(encoding="utf-8")
    return [json.loads(doc) for doc in text.split("\n---\n") if doc.strip()]


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; raise if the process ends or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the one command ------------------------------------------------------------------------


def demo_config(workdir: Path, port: int, user: PlaygroundUser) -> Path:
    """``app.yaml`` with Teams on, its own store and a directory that knows the Playground's
    user; everything else (the web console, timers, policy) as the repository's."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    directory = directory_with(user, ROOT / "directory.example.yaml", workdir / "directory.yaml")
    raw["directory"] = str(directory)
    raw["service"]["listen"] = {"host": "127.0.0.1", "port": port}
    raw["service"]["data_dir"] = str(workdir)
    raw["store"] = {"url": f"sqlite:///{workdir / 'oohbot.db'}"}
    raw["teams"] = {**raw["teams"], "enabled": True, "app_id": "", "app_password": ""}
    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.playground", description=__doc__)
    parser.add_argument("--port", type=int, default=3978, help="oohbot's port")
    parser.add_argument("--playground-port", type=int, default=56150)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    workdir = ROOT / "data" / "playground"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        node_tools()
    except ToolMissing as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop both children on SIGTERM too
    config = demo_config(workdir, args.port, AMARA)
    bot_url = f"http://127.0.0.1:{args.port}"
    serve = [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)]
    oohbot = subprocess.Popen(serve, cwd=ROOT, env={**env, "OOHBOT_ENVIRONMENT": "development"})
    playground: subprocess.Popen[bytes] | None = None
    try:
        wait_until_up(f"{bot_url}/healthz", oohbot)
        playground, url = start_playground(
            f"{bot_url}/api/messages",
            workdir,
            port=args.playground_port,
            browser=not args.no_browser,
        )
        wait_until_up(url, playground)
        print(f"\nThe Agents Playground: {url}  (you are {AMARA.name}: say hi)")
        print(f"The SPOC, in the web console: {bot_url}/?as=di.marsh")
        print("Ctrl-C stops both.\n")
        playground.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if playground is not None:
            stop(playground)
        stop(oohbot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
