"""Real ``oohbot serve`` and ``oohbot worker`` processes, driven by Slack as Slack drives them.

``Live`` writes a configuration (Slack pointed at a local recording Web API, a generated
directory of requesters), starts processes, kills them with SIGKILL and starts them again.
``Requester`` plays one on-call manager typing a whole request into a DM and reading the bot's
questions from the recorded ``chat.postMessage`` calls, re-sending an event that was not
acknowledged (as Slack does) with the same ``event_id``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml

from store.base import Store
from store.crypto import Cipher, generate_key
from store.factory import open_store
from tests.adapters.slack.conftest import signature
from tests.e2e.slack_recorder import TEAM, Call, SlackRecorder, dm_envelope, dm_of
from tests.night import ANSWERS

ROOT = Path(__file__).resolve().parents[2]
SECRET = "live-signing-secret"
SPOC_CHANNEL = "C0SPOC"
SPOC = "UDIMARSH"
REF = re.compile(r"DPT/\d{2,}/2026")
CONFIRMED = "has gone to the police SPOC"
OOHBOT = Path(sys.executable).with_name("oohbot")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def requester_id(n: int) -> str:
    return f"UREQ{n:03d}"


def write_directory(folder: Path, requesters: int) -> Path:
    """The example directory with Slack ids, plus ``requesters`` generated on-call managers."""
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    template = next(o for o in raw["officers"] if o["id"] == "amara.okafor")
    for officer in raw["officers"]:
        officer["slack"] = {"user": "U" + officer["id"].replace(".", "").upper(), "team": TEAM}
    for n in range(requesters):
        officer = {**template, "id": f"req.{n:03d}", "name": f"Requester {n}"}
        officer["slack"] = {"user": requester_id(n), "team": TEAM}
        raw["officers"].append(officer)
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@dataclass
class Live:
    """Processes of one deployment sharing one store."""

    folder: Path
    store_url: str
    recorder: SlackRecorder
    requesters: int
    key: str = field(default_factory=generate_key)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def config(self, port: int = 0) -> Path:
        path = self.folder / f"app-{port}.yaml"
        service = {
            "data_dir": str(self.folder / "data"),
            "log_level": os.environ.get("OOHBOT_LIVE_LOG_LEVEL", "warning"),
            "listen": {"host": "127.0.0.1", "port": port or free_port()},
        }
        raw = {
            "service": service,
            "store": {"url": self.store_url},
            "directory": str(write_directory(self.folder, self.requesters)),
            "timers": {"job_lease": "2s", "job_poll": "200ms", "spoc_ack": "1h"},
            "slack": {
                "signing_secret": SECRET,
                "bot_token": "xoxb-live",
                "api_url": self.recorder.url,
                "spoc_channel": SPOC_CHANNEL,
            },
            "web": {"enabled": False},
        }
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        env = {**os.environ, "OOHBOT_ENCRYPTION_KEYS": self.key}
        env.pop("OOHBOT_CONFIG", None)
        return env

    def start(self, name: str, command: str = "serve", *flags: str) -> None:
        port = self.ports.setdefault(name, free_port())
        args = [str(OOHBOT), command, "--config", str(self.config(port)), *flags]
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            args, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def healthy(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                process = self.processes[name]
                if process.poll() is not None:
                    log = (self.folder / f"{name}.log").read_text(errors="replace")[-2000:]
                    raise AssertionError(f"{name} exited with {process.returncode}:\n{log}")
                try:
                    async with session.get(self.url(name) + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"{name} did not become healthy")

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    async def open_store(self) -> Store:
        store = open_store(self.store_url, Cipher.from_strings([self.key]))
        await store.open()
        return store

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(OOHBOT), *args, "--config", str(self.config())]
        return subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=60, cwd=self.folder
        )


@dataclass
class Slack:
    """Signed requests to one of the live servers; unacknowledged ones are sent again."""

    live: Live
    session: aiohttp.ClientSession
    targets: list[str]
    rejected: int = 0
    count: int = 0

    async def post(self, body: str, content_type: str, target: str = "") -> str:
        """Deliver until acknowledged (a 200), like Slack's retries; returns the body."""
        for attempt in range(2000):
            name = target or self.targets[(self.count + attempt) % len(self.targets)]
            timestamp = int(time.time())
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature(body, timestamp, SECRET),
            }
            if attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
            try:
                url = self.live.url(name) + "/slack/events"
                async with self.session.post(url, data=body, headers=headers) as response:
                    text = await response.text()
                    if response.status == 200:
                        return text
                    self.rejected += 1
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("an event was never acknowledged")

    async def dm(self, user: str, text: str, event_id: str) -> None:
        self.count += 1
        await self.post(json.dumps(dm_envelope(user, text, event_id)), "application/json")

    async def interaction(self, payload: dict[str, Any], target: str = "") -> str:
        self.count += 1
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", target)


def posts_to(recorder: SlackRecorder, channel: str) -> list[Call]:
    return [c for c in recorder.calls if c.method == "chat.postMessage" and c.channel() == channel]


def asked(call: Call) -> str | None:
    for block in call.params.get("blocks") or []:
        if str(block.get("block_id", "")).startswith("ask:"):
            return str(block["block_id"]).removeprefix("ask:")
    return None


@dataclass
class Requester:
    """One on-call manager typing a whole request; ``ref`` once the bot confirmed it."""

    user: str
    slack: Slack
    recorder: SlackRecorder
    ref: str = ""
    repeats: int = 0

    async def run(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        await self.slack.dm(self.user, "hello", f"Ev{self.user}-0")
        for step in range(1, 80):
            seen, field = await self._next_question(seen, deadline)
            if field is None:
                return
            answer = "submit" if field == "review" else ANSWERS[field]
            await self.slack.dm(self.user, answer, f"Ev{self.user}-{step}")
        raise AssertionError(f"{self.user}: the conversation did not end")

    async def _next_question(self, seen: int, deadline: float) -> tuple[int, str | None]:
        """Wait for the bot's next question (or the confirmation) after ``seen`` posts."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            posts = posts_to(self.recorder, dm_of(self.user))
            new = posts[seen:]
            for post in new:
                found = REF.search(post.text())
                if found and CONFIRMED in post.text():
                    self.ref = found.group(0)
                    return len(posts), None
            fields = [field for field in map(asked, new) if field is not None]
            if fields:
                self.repeats += len(fields) - len(set(fields))
                return len(posts), fields[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.user}: the bot stopped answering")
