"""The ``oohbot`` command line, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def oohbot(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _config(tmp_path: Path, directory: Path) -> Path:
    config = tmp_path / "app.yaml"
    config.write_text(
        yaml.safe_dump(
            {"directory": str(directory), "store": {"url": f"sqlite:///{tmp_path}/t.db"}}
        )
    )
    return config


def test_directory_check_passes_on_the_example() -> None:
    result = oohbot("directory", "check", "--config", str(ROOT / "app.yaml"))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_directory_check_names_each_problem(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text())
    raw["officers"][0]["manager"] = "nobody.here"
    raw["officers"].append(dict(raw["officers"][1]))
    raw["spoc"]["rota"] = []
    broken = tmp_path / "directory.yaml"
    broken.write_text(yaml.safe_dump(raw))
    result = oohbot("directory", "check", "--config", str(_config(tmp_path, broken)))
    assert result.returncode == 1
    assert "officers[0].manager: unknown officer 'nobody.here'" in result.stderr
    assert "duplicate 'tom.reyes'" in result.stderr
    assert "spoc.rota: the SPOC rota is empty" in result.stderr


def test_directory_check_reports_structural_errors(tmp_path: Path) -> None:
    broken = tmp_path / "directory.yaml"
    broken.write_text(yaml.safe_dump({"officers": [{"id": "x", "nmae": "typo"}]}))
    result = oohbot("directory", "check", "--config", str(_config(tmp_path, broken)))
    assert result.returncode == 1
    assert "officers[0].nmae: unknown key" in result.stderr


def test_directory_check_validates_each_organisations_settings(tmp_path: Path) -> None:
    """Per-organisation settings (office hours, clocks, forms…) fail with their key path."""
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text())
    raw["organisations"][1]["settings"] = {
        "office_hours": {"end": "17:00", "bank_holidays": "MARS"},
        "timers": {"retrospective_due": "soon", "spoc_ack": "1 working day"},
        "forms": ["mh2"],
        "retention": {"decided": "six years"},
    }
    broken = tmp_path / "directory.yaml"
    broken.write_text(yaml.safe_dump(raw))
    result = oohbot("directory", "check", "--config", str(_config(tmp_path, broken)))
    assert result.returncode == 1
    err = result.stderr
    assert "organisations[1].settings.office_hours.bank_holidays: use ENG" in err
    assert "organisations[1].settings.timers.retrospective_due: 'soon' is not a duration" in err
    assert "organisations[1].settings.timers.spoc_ack: this timer must be wall-clock" in err
    assert "organisations[1].settings.forms[0]:" in err
    raw["organisations"][1]["settings"] = {"timers": {"job_poll": "1s"}}
    broken.write_text(yaml.safe_dump(raw))
    result = oohbot("directory", "check", "--config", str(_config(tmp_path, broken)))
    assert "organisations[1].settings.timers: job_poll: a timer of the whole service" in (
        result.stderr
    )
    assert "organisations[1].settings.retention.decided:" in err


def test_directory_check_accepts_organisation_settings(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "directory.example.yaml").read_text())
    raw["organisations"][1]["settings"] = {
        "office_hours": {"start": "09:00", "end": "17:30", "bank_holidays": "WLS"},
        "timers": {"retrospective_due": "1 working day", "response_due_routine": "10 working days"},
        "forms": ["mh1"],
        "decision_items": {"required": ["power", "inform_subject"]},
        "inform_subject": True,
        "retention": {"decided": "2190d"},
    }
    good = tmp_path / "directory.yaml"
    good.write_text(yaml.safe_dump(raw))
    result = oohbot("directory", "check", "--config", str(_config(tmp_path, good)))
    assert result.returncode == 0, result.stderr


def test_a_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text("timers:\n  spoc_ack: whenever\n")
    result = oohbot("directory", "check", "--config", str(config))
    assert result.returncode == 2
    assert "timers.spoc_ack" in result.stderr


def test_config_comes_from_the_environment_variable(tmp_path: Path) -> None:
    config = _config(tmp_path, ROOT / "directory.example.yaml")
    result = oohbot("directory", "check", cwd=tmp_path, env={"OOHBOT_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr


def test_flow_diagrams_are_mermaid() -> None:
    for machine in ("conversation", "request"):
        result = oohbot("flow", "diagram", "--machine", machine)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("stateDiagram-v2")
    request = oohbot("flow", "diagram", "--machine", "request").stdout
    for state in ("paged", "acknowledged", "approved", "declined", "retro_overdue", "closed"):
        assert state in request


def test_requests_list_and_audit_on_an_empty_store(tmp_path: Path) -> None:
    config = str(_config(tmp_path, ROOT / "directory.example.yaml"))
    listing = oohbot("requests", "list", "--format", "json", "--config", config)
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout) == []
    verified = oohbot("audit", "verify", "--config", config)
    assert verified.returncode == 0, verified.stderr


def test_the_readme_diagrams_are_the_machines() -> None:
    """The README shows what ``oohbot flow diagram`` draws (regenerate it on a change)."""
    import re

    blocks = re.findall(r"```mermaid\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    for machine, block in zip(("request", "conversation"), blocks, strict=True):
        assert block.strip() == oohbot("flow", "diagram", "--machine", machine).stdout.strip()
