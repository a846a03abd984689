"""Resident memory of an idle ``oohbot serve`` against an idle bare Bolt app, same run.

    python -m benchmarks.bench_idle_memory

Both run as their own processes and are measured (``VmRSS`` from ``/proc``) twice: idle once
they answer ``/healthz``, and idle again after each has answered one signed Slack message from a
requester in the directory (replying through a local recording Web API), so that what loads
on first use is counted too. oohbot serves the README's default configuration: SQLite, the
web console, the worker; Slack on with a signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

bolt = AsyncApp(
    signing_secret="s", client=AsyncWebClient(token="xoxb", base_url=sys.argv[2])
)

@bolt.event("message")
async def reply(body, client):
    await client.chat_postMessage(channel=body["event"]["channel"], text="Hello")

async def endpoint(request):
    return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

async def healthz(request):
    return web.Response(text="ok")

app = web.Application()
app.router.add_post("/slack/events", endpoint)
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class _Recorder(BaseHTTPRequestHandler):
    """The Slack Web API, for both apps: every call succeeds."""

    replies = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("chat.postMessage"):
            type(self).replies += 1
        body = json.dumps({"ok": True, "channel": "D0001", "ts": "1.1", "user_id": "UBOT",
                           "team_id": "T0001", "bot_id": "B1"}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


def recording_api() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/api/"


def slack_message(port: int) -> None:
    """One signed DM from the directory's requester (``U0001``), as Slack sends it."""
    event = {"type": "message", "channel_type": "im", "channel": "D0001", "user": "U0001",
             "text": "hello", "ts": f"{time.time():.6f}"}  # fmt: skip
    body = json.dumps(
        {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": event}
    )
    stamp = str(int(time.time()))
    signature = hmac.new(b"s", f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": f"v0={signature}"}  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events", body.encode(), headers
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def measured(command: list[str], port: int, env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """Resident KiB idle after start, and idle again after answering one Slack message."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(2)  # settle: background tasks started, first checks done
        idle = rss_kib(process.pid)
        replies = _Recorder.replies
        slack_message(port)
        deadline = time.monotonic() + 30
        while _Recorder.replies == replies and time.monotonic() < deadline:
            time.sleep(0.05)
        if _Recorder.replies == replies:
            raise RuntimeError("the message was never answered")
        time.sleep(2)
        return idle, rss_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def directory_with_slack(folder: Path) -> Path:
    """The example directory, its first requester reachable on Slack as ``U0001``."""
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text(encoding="utf-8"))
    officer = next(o for o in raw["officers"] if "requester" in o.get("roles", []))
    officer["slack"] = {"user": "U0001", "team": "T0001"}
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    api = recording_api()
    bare_port, ours_port = free_port(), free_port()
    env = {**os.environ, "OOHBOT_PORT": str(ours_port), "SLACK_SIGNING_SECRET": "s",
           "SLACK_BOT_TOKEN": "xoxb", "SLACK_API_URL": api}  # fmt: skip
    env.pop("OOHBOT_CONFIG", None)
    bare = measured([sys.executable, "-c", BARE, str(bare_port), api], bare_port, env, folder)
    config = folder / "app.yaml"
    config.write_text(
        (ROOT / "app.yaml")
        .read_text()
        .replace("directory: directory.example.yaml", f"directory: {directory_with_slack(folder)}")
    )
    oohbot = Path(sys.executable).with_name("oohbot")
    ours = measured([str(oohbot), "serve", "--config", str(config)], ours_port, env, folder)
    for when, index in (("idle after start", 0), ("idle after one message", 1)):
        print(f"{when}:")
        print(f"  bare Bolt app   {bare[index] / 1024:6.1f} MiB  1.00x")
        print(f"  oohbot serve    {ours[index] / 1024:6.1f} MiB  {ours[index] / bare[index]:.2f}x")


if __name__ == "__main__":
    main()
