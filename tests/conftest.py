"""Shared fixtures and hooks.

``redis_url``: a real redis-server for the whole session, flushed per test. Every Slack and
Teams payload a test sends to the recorders is checked against the platforms' rules when the
test ends (``tests/platform_checks.py``); a broken one fails that test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import redis

from tests.platform_checks import CHECKER, close_microsoft_tools
from tests.redis_process import AofRedis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            if redis.Redis.from_url(url).ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer within 10s")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``redis-server`` on a free port (no persistence: speed); yields its base URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied (FLUSHDB) before the test."""
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[AofRedis]:
    """A redis-server of the test's own, append-only file on, that it may kill and restart."""
    server = AofRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    CHECKER.discard()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test whose recorded Slack or Teams payloads break a platform rule."""
    try:
        result = yield
    except BaseException:
        CHECKER.discard()
        raise
    CHECKER.verify()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Payloads sent while fixtures close (background deliveries) are checked too."""
    result = yield
    CHECKER.verify()
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    close_microsoft_tools()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHECKER.checked:
        terminalreporter.write_line(
            f"platform checks: {CHECKER.summary()} checked against the platforms' rules"
        )
    if CHECKER.unchecked_reason:
        terminalreporter.write_line(
            "platform checks: Adaptive Cards were checked against the schema only, "
            f"not Microsoft's parser: {CHECKER.unchecked_reason}",
            yellow=True,
        )
