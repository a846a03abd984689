"""Every start-up and command failure is one clear line and a documented exit code (README:
"Exit codes"), never a traceback. Each test runs the real ``oohbot`` command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from store.crypto import generate_key
from tests.bot.test_cli import ROOT, oohbot
from tests.bot.test_cli_after_night import _overdue_night
from tests.bot.test_serve import _free_port, _get, healthy

EXAMPLE = ROOT / "directory.example.yaml"


def _config(tmp_path: Path, **overrides: Any) -> Path:
    raw: dict[str, Any] = {
        "service": {"listen": {"port": _free_port()}, "data_dir": str(tmp_path / "data")},
        "store": {"url": f"sqlite:///{tmp_path / 'data' / 'oohbot.db'}"},
        "directory": str(EXAMPLE),
    }
    raw.update(overrides)
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


def _one_line(result: subprocess.CompletedProcess[str], starts: str) -> str:
    """The error line (warnings aside); no traceback anywhere."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("oohbot: warn")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"oohbot: {starts}"), lines[0]
    return lines[0]


def _keys(*keys: str) -> dict[str, str]:
    return {"OOHBOT_ENCRYPTION_KEYS": ",".join(keys)}


def test_port_in_use_exits_3(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, service={"listen": {"port": port}})
        result = oohbot("serve", "--config", str(config), env=_keys(generate_key()))
    assert result.returncode == 3
    line = _one_line(result, f"service.listen 127.0.0.1:{port} is already in use")
    assert "service.listen.port" in line


def test_redis_unreachable_exits_3_for_every_command(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"  # nothing listens there
    config = str(_config(tmp_path, store={"url": url}))
    for command in (["serve"], ["worker"], ["requests", "list"], ["audit", "verify"]):
        result = oohbot(*command, "--config", config, env=_keys(generate_key()))
        assert result.returncode == 3, (command, result.stderr)
        line = _one_line(result, "store.url redis://:***@127.0.0.1")
        assert "Redis does not answer" in line and "hunter2" not in result.stderr


def test_an_unusable_sqlite_path_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = _config(tmp_path, store={"url": f"sqlite:///{blocker}/oohbot.db"})
    result = oohbot("requests", "list", "--config", str(config), env=_keys(generate_key()))
    assert result.returncode == 3
    assert "cannot open the SQLite database" in _one_line(result, "store.url sqlite:///")


def test_a_closed_pipe_is_quiet() -> None:
    """``oohbot flow diagram | head``: the reader leaves early; no BrokenPipeError."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "flow", "diagram"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # before the command has written anything
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 141
    assert stderr == ""


def test_audit_export_of_an_unknown_reference_says_so(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    result = oohbot("audit", "export", "--ref", "DPT/99/2026", "--config", config)
    assert result.returncode == 1
    _one_line(result, "no request with reference 'DPT/99/2026'")
    assert result.stdout == ""


def test_the_development_key_warning_is_a_plain_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OOHBOT_ENCRYPTION_KEYS"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "requests", "list", "--config", str(_config(tmp_path))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("oohbot: warning: generated a development encryption key")
    assert "{" not in result.stderr


def test_a_directory_with_problems_refuses_to_serve(tmp_path: Path) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["officers"][0]["manager"] = "nobody.here"
    raw["officers"].append(dict(raw["officers"][1]))
    broken = tmp_path / "directory.yaml"
    broken.write_text(yaml.safe_dump(raw))
    config = _config(tmp_path, directory=str(broken))
    result = oohbot("serve", "--config", str(config), env=_keys(generate_key()))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    first, *problems = result.stderr.splitlines()
    assert first.startswith(f"oohbot: directory {broken} has 2 problem(s); oohbot will not serve")
    assert sorted(problems) == [
        "  officers[0].manager: unknown officer 'nobody.here'",
        "  officers[7].id: duplicate 'tom.reyes' (also at officers[1].id)",
    ]


@contextmanager
def _serving(config: Path, keys: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
        env={**os.environ, "OOHBOT_ENCRYPTION_KEYS": keys},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['service']['listen']['port']}"
    try:
        healthy(base, process)
        assert process.poll() is None, process.communicate()[1]
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=15)


async def test_key_rotation_waits_for_the_running_service(tmp_path: Path) -> None:
    """The README's order: the service holds (and seals with) the new key first; only then
    does ``keys rotate`` re-encrypt, and the running service keeps reading everything."""
    db, old, new = tmp_path / "data" / "oohbot.db", generate_key(), generate_key()
    db.parent.mkdir(mode=0o700)
    ref = await _overdue_night(db, old)
    config = _config(tmp_path)
    rotate = ["keys", "rotate", "--config", str(config)]
    with _serving(config, old) as base:
        refused = oohbot(*rotate, "--service", base, env=_keys(new, old))
        assert refused.returncode == 4
        assert "restart every service with" in _one_line(refused, f"the service at {base} seals")
    with _serving(config, f"{new},{old}") as base:
        done = oohbot(*rotate, env=_keys(new, old))  # finds the service on service.listen
        assert done.returncode == 0, done.stderr
        status, body = _get(f"{base}/web/api/home?officer=amara.okafor")
        assert status == 200 and ref in body
    stale = oohbot("requests", "list", "--config", str(config), env=_keys(old))
    assert stale.returncode == 4
    assert "OOHBOT_ENCRYPTION_KEYS" in _one_line(stale, "a stored value cannot be opened")
    listed = oohbot("requests", "list", "--format", "json", "--config", str(config), env=_keys(new))
    assert [row["ref"] for row in json.loads(listed.stdout)] == [ref]


def test_an_unexpected_error_is_one_line_naming_its_place(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import INTERNAL_ERROR, _failed

    empty: dict[str, int] = {}
    try:
        empty["missing"]
    except KeyError as error:
        assert _failed(error) == INTERNAL_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("oohbot: internal error KeyError at ")
    assert "test_cli_errors.py:" in line and "missing" not in line
