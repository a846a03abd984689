"""Reloading the directory into a running ``oohbot serve`` process: SIGHUP, and
``oohbot directory reload`` picked up by the service's own watch of the shared store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.bot.test_serve import _free_port, _get, start_serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "directory.example.yaml").read_text()
ROTA = "rota: [di.marsh, ds.kellow]"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path, Path]]:
    port = _free_port()
    directory = tmp_path / "directory.yaml"
    directory.write_text(EXAMPLE)
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {
                    "listen": {"host": "127.0.0.1", "port": port},
                    "data_dir": str(tmp_path / "data"),
                },
                "store": {"url": f"sqlite:///{tmp_path / 'data' / 'oohbot.db'}"},
                "directory": str(directory),
            }
        )
    )
    process, base = start_serve(tmp_path, config, port)
    yield process, base, directory, config
    if process.poll() is None:
        process.kill()
        process.communicate()


def _first_on_duty(base: str) -> str:
    """Level 1 of the on-duty card on a SPOC's console status view."""
    status, body = _get(f"{base}/web/api/home?officer=ds.kellow")
    assert status == 200, body
    [card] = [m for m in json.loads(body)["messages"] if m.get("card_id") == "oncall"]
    return str(card["fields"][0]["value"])


def _eventually(check: Callable[[], str], expected: str, seconds: float = 15) -> str:
    """What ``check`` says once it starts with ``expected`` (or when time runs out)."""
    deadline = time.monotonic() + seconds
    seen = ""
    while time.monotonic() < deadline:
        seen = check()
        if seen.startswith(expected):
            return seen
        time.sleep(0.2)
    return seen


def test_sighup_and_directory_reload_swap_the_directory_in_without_a_restart(
    served: tuple[subprocess.Popen[str], str, Path, Path],
) -> None:
    process, base, directory, config = served
    assert _first_on_duty(base).startswith("Dana Marsh")

    directory.write_text(EXAMPLE.replace(ROTA, "rota: [ds.kellow, di.marsh]"))
    process.send_signal(signal.SIGHUP)
    assert _eventually(lambda: _first_on_duty(base), "Sam Kellow").startswith("Sam Kellow")

    directory.write_text(EXAMPLE.replace(ROTA, "rota: [nobody.here]"))
    process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    assert process.poll() is None, "a broken file does not stop the service"
    assert _first_on_duty(base).startswith("Sam Kellow"), "the old directory stays"

    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    command = [sys.executable, "-m", "bot.cli", "directory", "reload", "--config", str(config)]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "unknown officer 'nobody.here'" in refused.stderr

    directory.write_text(EXAMPLE.replace(ROTA, "rota: [duty.inspector, di.marsh]"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _eventually(lambda: _first_on_duty(base), "Priya").startswith("Priya Nandakumar")

    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=30)
    assert "directory_reload_failed" in log and "directory_reloaded" in log


def test_a_standalone_worker_follows_directory_reload(tmp_path: Path) -> None:
    """``oohbot worker`` pages too, so it must pick up a published directory as well."""
    directory = tmp_path / "directory.yaml"
    directory.write_text(EXAMPLE)
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {"data_dir": str(tmp_path / "data")},
                "store": {"url": f"sqlite:///{tmp_path / 'data' / 'oohbot.db'}"},
                "directory": str(directory),
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    cli = [sys.executable, "-m", "bot.cli"]
    worker = subprocess.Popen(
        [*cli, "worker", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.communicate()[1][-2000:]
        directory.write_text(EXAMPLE.replace(ROTA, "rota: [ds.kellow]"))
        reload = [*cli, "directory", "reload", "--config", str(config)]
        done = subprocess.run(reload, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        time.sleep(7)  # the watch looks every 5 seconds
    finally:
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=30)
    assert worker.returncode == 0, log[-2000:]
    assert "directory_reloaded" in log
