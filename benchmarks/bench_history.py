"""How a long history affects each typed message, as a ratio to an empty store (same run).

    python benchmarks/bench_history.py [-n 5000] [--messages 200]

Ended requests (closed, withdrawn) are filtered by the store's state index, so the time a
message takes should not grow with years of history. The baseline is the same message on an
empty store; the ratio is what the history costs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from adapters.base import Address, Handle
from bot.app import build_core
from bot.clock import FrozenClock
from bot.config import parse_settings
from bot.directory import load_directory
from flows.inbound import Inbound, Platform
from flows.messages import Message
from flows.request import Request
from store.base import Store
from store.crypto import Cipher, generate_key
from store.factory import open_store

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


class NullSender:
    """A platform that accepts everything (delivery is not what is measured)."""

    platform: Platform = "web"

    async def send(self, address: Address, message: Message) -> Handle:
        return {"platform": "web", "box": address.id, "id": 0}

    async def update(self, handle: Handle, message: Message) -> None:
        return None


async def fill(store: Store, count: int) -> None:
    for i in range(count):
        ref = f"DPT/{i + 1:02d}/2025"
        request = Request(
            ref=ref, state="closed", requester="amara.okafor", org="DPT", on_behalf_of="DPT",
            created_at=NOW, response_due_at=NOW, answers={"summary": "x" * 300},
        )  # fmt: skip
        await store.create_request(ref, request.model_dump(mode="json"))


async def per_message(history: int, messages: int) -> float:
    folder = Path(tempfile.mkdtemp())
    settings = parse_settings({"directory": str(ROOT / "directory.example.yaml")}, {}, folder)
    store = open_store(f"sqlite:///{folder / 'b.db'}", Cipher.from_strings([generate_key()]))
    await store.open()
    await fill(store, history)
    core = build_core(
        settings, clock=FrozenClock(NOW), store=store, directory=load_directory(settings.directory)
    )
    core.engine.add_sender(NullSender(), "spoc")
    start = time.perf_counter()
    for i in range(messages):
        inbound = Inbound("web", "amara.okafor", "", "c", "text", text="status", event_id=str(i))
        await core.engine.handle(inbound)
    elapsed = (time.perf_counter() - start) / messages
    await store.close()
    return elapsed


async def main(history: int, messages: int) -> None:
    baseline = await per_message(0, messages)
    loaded = await per_message(history, messages)
    ratio = loaded / baseline
    print(f"'status', empty store:            {baseline * 1000:7.2f} ms  1.00x baseline")
    print(f"'status', {history:,} ended requests: {loaded * 1000:7.2f} ms  {ratio:.2f}x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000, help="ended requests in the history")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.messages))
