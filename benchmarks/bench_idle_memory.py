"""Resident memory of an idle ``oohbot serve`` against an idle bare Bolt app, same run.

    python -m benchmarks.bench_idle_memory

Both run as their own processes, answer one request (so everything they load on first use is
loaded) and are then measured (``VmRSS`` from ``/proc``). oohbot serves the README's default
configuration: SQLite, the web console, the worker; Slack on with a signing secret.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

bolt = AsyncApp(signing_secret="s", token="xoxb")

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


def measured(command: list[str], port: int, env: dict[str, str], cwd: Path) -> int:
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
        return rss_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    bare_port, ours_port = free_port(), free_port()
    env = {**os.environ, "OOHBOT_PORT": str(ours_port), "SLACK_SIGNING_SECRET": "s",
           "SLACK_BOT_TOKEN": "xoxb", "SLACK_API_URL": "http://127.0.0.1:9/api/"}  # fmt: skip
    env.pop("OOHBOT_CONFIG", None)
    bare = measured([sys.executable, "-c", BARE, str(bare_port)], bare_port, env, folder)
    config = folder / "app.yaml"
    config.write_text(
        (ROOT / "app.yaml")
        .read_text()
        .replace(
            "directory: directory.example.yaml", f"directory: {ROOT / 'directory.example.yaml'}"
        )
    )
    oohbot = Path(sys.executable).with_name("oohbot")
    ours = measured([str(oohbot), "serve", "--config", str(config)], ours_port, env, folder)
    print(f"bare Bolt app   {bare / 1024:6.1f} MiB  1.00x")
    print(f"oohbot serve    {ours / 1024:6.1f} MiB  {ours / bare:.2f}x")


if __name__ == "__main__":
    main()
