"""The systemd units in deploy/: valid for systemd, and running the commands the docs describe."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

DEPLOY = ROOT / "deploy"
INSTALLED = "/opt/segmentation-dashboard"
UNITS = sorted(p.name for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / name)
    return parser


def test_the_units_are_the_ones_the_docs_name():
    assert UNITS == [
        "segcore-app.service",
        "segcore-backup.service",
        "segcore-backup.timer",
        "segcore-live-sync.service",
        "segcore-notify.service",
        "segcore-notify.timer",
        "segcore-sync.service",
        "segcore-sync.timer",
    ]
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert all(name in docs for name in UNITS)


def test_app_restarts_on_failure_and_listens_on_localhost_only():
    service = unit("segcore-app.service")["Service"]
    assert service["Restart"] == "on-failure"
    assert "--server.address 127.0.0.1" in service["ExecStart"]
    assert unit("segcore-app.service")["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(
    "name,command",
    [
        ("segcore-sync", "segcore sync --mode cron"),
        ("segcore-backup", "segcore backup --out"),
        ("segcore-notify", "segcore notify --send-due"),
    ],
)
def test_timers_start_oneshot_commands(name, command):
    service = unit(f"{name}.service")["Service"]
    assert service["Type"] == "oneshot" and command in service["ExecStart"]
    timer = unit(f"{name}.timer")
    assert timer["Timer"]["Unit"] == f"{name}.service" and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip(
            "systemd-analyze is not installed (Debian package systemd; "
            "scripts/run-tests.sh installs it)"
        )
    # verify checks that ExecStart exists: point the units at this checkout and interpreter.
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace(f"{INSTALLED}/.venv/bin/python", sys.executable)
        (tmp_path / name).write_text(text.replace(INSTALLED, str(ROOT)))
    out = subprocess.run(
        [analyze, "verify", "--man=no", *[str(tmp_path / n) for n in UNITS]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    problems = [line for line in out.stderr.splitlines() if str(tmp_path) in line]
    assert problems == [], out.stderr


def test_the_live_sync_is_a_long_running_service_restarted_on_failure():
    service = unit("segcore-live-sync.service")["Service"]
    assert service["Type"] == "simple" and "segcore sync --watch" in service["ExecStart"]
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert unit("segcore-live-sync.service")["Install"]["WantedBy"] == "multi-user.target"


def test_the_installed_commands_exist():
    # Every command a unit runs is a real segcore command (a typo would fail only at night).
    for name in (
        "segcore-sync.service",
        "segcore-backup.service",
        "segcore-live-sync.service",
        "segcore-notify.service",
    ):
        argv = unit(name)["Service"]["ExecStart"].split()
        command = argv[argv.index("segcore") + 1]
        out = subprocess.run(
            [sys.executable, "-m", "segcore", command, "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        assert out.returncode == 0, out.stderr
        for option in [a for a in argv if a.startswith("--")]:
            assert option in out.stdout, (name, option)
