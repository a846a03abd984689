"""``oohbot serve`` as a real process: health, readiness, metrics, clean SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start_serve(cwd: Path, config: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """``oohbot serve --config CONFIG`` as a process, once ``/healthz`` answers."""
    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    if healthy(base, process):
        return process, base
    process.kill()
    pytest.fail(f"oohbot serve did not start: {process.communicate()[1][-2000:]}")


def healthy(base: str, process: subprocess.Popen[Any], timeout: float = 30) -> bool:
    """Wait until the service at ``base`` answers ``/healthz``; False if it did not in time
    or its process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if _get(f"{base}/healthz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def default_config(tmp_path: Path, port: int) -> Path:
    """The README's default set-up (SQLite, the web console) in ``tmp_path``."""
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {
                    "listen": {"host": "127.0.0.1", "port": port},
                    "data_dir": str(tmp_path / "data"),
                },
                "store": {"url": f"sqlite:///{tmp_path / 'data' / 'oohbot.db'}"},
                "directory": str(ROOT / "directory.example.yaml"),
            }
        )
    )
    return config


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = _free_port()
    process, base = start_serve(tmp_path, default_config(tmp_path, port), port)
    yield process, base
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_health_readiness_and_metrics(
    served: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    _, base = served
    assert json.loads(_get(f"{base}/healthz")[1]) == {"status": "ok"}
    status, metrics = _get(f"{base}/metrics")
    assert status == 200
    assert "oohbot_requests_submitted_total" in metrics
    assert "oohbot_store_ready 1.0" in metrics, "kept current without a call to /readyz"
    status, ready = _get(f"{base}/readyz")
    assert status == 200 and json.loads(ready)["ready"] is True
    key = tmp_path / "data" / "encryption.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_sigterm_shuts_down_cleanly(served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    stderr = process.communicate()[1]
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    events = [record["event"] for record in records]
    assert "serving" in events and "shutting_down" in events
    assert any("/healthz" in event for event in events), "the access log is JSON too"


def test_an_idle_service_has_not_loaded_what_only_a_message_needs(tmp_path: Path) -> None:
    """README, Benchmarks (``bench_idle_memory``): the encryption library (about 7 MiB
    resident), phone numbers and one-time codes load with the first message that needs them,
    not at start. ``-X importtime`` lists every module the real process imported."""
    port = _free_port()
    config = default_config(tmp_path, port)
    log = tmp_path / "imports.log"
    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    command = [sys.executable, "-X", "importtime", "-m", "bot.cli", "serve", "--config"]
    with log.open("w") as sink:  # a file, not a pipe: nobody reads it until the end
        process = subprocess.Popen(
            [*command, str(config)], cwd=tmp_path, env=env, stdout=sink, stderr=sink
        )
    try:
        assert healthy(f"http://127.0.0.1:{port}", process), "oohbot serve did not start"
        assert _get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in log.read_text().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "aiohttp" in imported, "the import log was read"
    assert imported & {"cryptography", "phonenumbers", "pyotp"} == set()


def test_production_without_keys_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {"environment": "production", "data_dir": str(tmp_path / "data")},
                "store": {"url": f"sqlite:///{tmp_path / 'x.db'}"},
                "directory": str(ROOT / "directory.example.yaml"),
                "web": {"enabled": False},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "OOHBOT_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr


def test_redis_without_aof_warns_at_start_up(tmp_path: Path, redis_url: str) -> None:
    """The test Redis runs with appendonly off: start-up must say so (and still start)."""
    port = _free_port()
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {"listen": {"port": port}, "data_dir": str(tmp_path / "data")},
                "store": {"url": redis_url},
                "directory": str(ROOT / "directory.example.yaml"),
            }
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if _get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate(timeout=15)[1]
    finally:
        if process.poll() is None:
            process.kill()
    warnings = [json.loads(line) for line in stderr.splitlines() if "redis_persistence" in line]
    assert warnings and "appendonly yes" in warnings[0]["message"]
