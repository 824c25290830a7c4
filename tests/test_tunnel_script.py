"""scripts/tunnel.sh against a fake `ssh` on PATH: no SSH server exists on these machines.

The fake records its arguments and pid, then exits (or sleeps) as the test asks, so these tests
check the command the script builds, what it prints, its reconnect loop and backoff, and that
Ctrl-C leaves no ssh behind. Whether a real ssh forwards the port is OpenSSH's job.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, free_port

SCRIPT = ROOT / "scripts" / "tunnel.sh"
KEEPALIVE = [
    "-o",
    "ServerAliveInterval=30",
    "-o",
    "ServerAliveCountMax=3",
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "ConnectTimeout=15",
]

FAKE_SSH = f"""#!{sys.executable}
import json, os, sys, time
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "pid": os.getpid()}}) + "\\n")
time.sleep(float(os.environ.get("FAKE_SSH_SLEEP", "0")))
sys.exit(int(os.environ.get("FAKE_SSH_EXIT", "255")))
"""


@pytest.fixture
def fake_ssh(tmp_path):
    """Environment whose PATH starts with a fake ssh; returns (env, calls) where calls() reads
    what each invocation received."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    log = tmp_path / "ssh-calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_SSH_LOG": str(log),
        "TUNNEL_BACKOFF_START": "1",
        "TUNNEL_BACKOFF_MAX": "2",
        "TUNNEL_MAX_ATTEMPTS": "1",
    }

    def calls() -> list[dict]:
        if not log.exists():
            return []
        # Only complete lines: the fake may be writing one while the test reads.
        text = log.read_text()
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]

    return env, calls


LONG = 120  # seconds: generous on a busy machine; the tests wait for states, not for time


def wait_until(condition, failure: str, timeout: float = LONG) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def run(env: dict, *args: str, timeout: float = LONG, **extra_env: str):
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**env, **extra_env},
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args,forward,printed",
    [
        ([], "8501:localhost:8501", "Open http://localhost:8501"),
        (["--local-port", "8600"], "8600:localhost:8501", "Open http://localhost:8600"),
        (
            ["--local-port=8600", "--remote-port=8502"],
            "8600:localhost:8502",
            "Open http://localhost:8600",
        ),
        (
            ["--db"],
            "27017:localhost:27017",
            "MONGO_URI=mongodb://USER:PASSWORD@localhost:27017/?authSource=admin&directConnection=true",
        ),
        (
            ["--db", "--local-port", "27018"],
            "27018:localhost:27017",
            "MONGO_URI=mongodb://USER:PASSWORD@localhost:27018/?authSource=admin&directConnection=true",
        ),
    ],
)
def test_command_and_printed_url(fake_ssh, args, forward, printed):
    env, calls = fake_ssh
    # A port given explicitly must be free for the script to go on; the defaults may be taken
    # on a developer's machine, so the default cases only check what was built when it ran.
    result = run(env, "coord@office-server", *args)
    if "is already in use" in result.stderr:
        pytest.skip(f"a default port is busy on this machine: {result.stderr.strip()}")
    assert calls() == [
        {"args": ["-N", *KEEPALIVE, "-L", forward, "coord@office-server"], "pid": calls()[0]["pid"]}
    ]
    assert printed in result.stdout.splitlines()
    assert result.returncode == 1 and "giving up after 1 attempts" in result.stderr


def test_reconnects_with_doubling_backoff_up_to_the_cap(fake_ssh):
    env, calls = fake_ssh
    port = str(free_port())
    started = time.monotonic()
    result = run(env, "coord@office-server", "--local-port", port, TUNNEL_MAX_ATTEMPTS="4")
    elapsed = time.monotonic() - started
    assert len(calls()) == 4
    assert len({tuple(c["args"]) for c in calls()}) == 1  # the same command every time
    waits = [
        line.split("reconnecting in ")[1].split("s ")[0]
        for line in result.stderr.splitlines()
        if "reconnecting in" in line
    ]
    assert waits == ["1", "2", "2"]
    assert "status 255" in result.stderr and elapsed >= 5
    assert result.stdout.count(f"Open http://localhost:{port}") == 1


def test_a_connection_that_stayed_up_resets_the_backoff(fake_ssh):
    env, calls = fake_ssh
    result = run(
        env,
        "coord@office-server",
        "--local-port",
        str(free_port()),
        TUNNEL_MAX_ATTEMPTS="3",
        TUNNEL_STABLE_SECONDS="1",
        FAKE_SSH_SLEEP="1.2",
        TUNNEL_BACKOFF_MAX="8",
    )
    waits = [
        line.split("reconnecting in ")[1].split("s ")[0]
        for line in result.stderr.splitlines()
        if "reconnecting in" in line
    ]
    assert len(calls()) == 3 and waits == ["1", "1"]


def as_from_a_terminal() -> None:
    """Start the script with every signal delivered and handled by default, as a shell in a
    terminal does. The test process may not: a signal blocked or ignored in it is blocked or
    ignored in the script too, and bash cannot trap a signal ignored when it started (in the
    parallel suite under load, a Ctrl-C never reached the trap)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_closes_the_tunnel_and_leaves_no_ssh_behind(fake_ssh, sig):
    env, calls = fake_ssh
    process = subprocess.Popen(
        ["bash", str(SCRIPT), "coord@office-server", "--local-port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "FAKE_SSH_SLEEP": "600", "TUNNEL_MAX_ATTEMPTS": "0"},
        preexec_fn=as_from_a_terminal,
    )
    try:
        wait_until(calls, "the script never started ssh")  # a state, however slow the machine
        process.send_signal(sig)
        # The pipes reach their end only when no ssh holds them: a left-behind ssh (it sleeps
        # for ten minutes) shows as a timeout here.
        out, err = process.communicate(timeout=LONG)
    finally:
        if process.poll() is None:
            process.kill()
        left_behind = []  # ssh still running once the script ended, killed here either way
        for call in calls():
            with contextlib.suppress(ProcessLookupError):
                os.kill(call["pid"], signal.SIGKILL)
                left_behind.append(call["pid"])
    assert process.returncode == 0 and "Tunnel closed." in err
    assert left_behind == []
    assert len(calls()) == 1


def test_busy_local_port_is_reported_once_without_calling_ssh(fake_ssh):
    env, calls = fake_ssh
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        result = run(env, "coord@office-server", "--local-port", port, TUNNEL_MAX_ATTEMPTS="0")
    assert result.returncode == 1 and f"port {port} is already in use" in result.stderr
    assert calls() == []


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "usage:"),
        (["coord@office-server", "--local-port"], "--local-port needs a value"),
        (["coord@office-server", "--local-port", "http"], "--local-port must be a port"),
        (["coord@office-server", "--remote-port=70000"], "--remote-port must be a port"),
        (["coord@office-server", "--verbose"], "unknown option --verbose"),
        (["coord@office-server", "other@host"], "only one USER@HOST"),
    ],
)
def test_bad_arguments_exit_2_without_calling_ssh(fake_ssh, args, message):
    env, calls = fake_ssh
    result = run(env, *args)
    assert result.returncode == 2 and message in result.stderr
    assert calls() == []


def test_help(fake_ssh):
    env, calls = fake_ssh
    result = run(env, "--help")
    assert result.returncode == 0 and "--db" in result.stdout and calls() == []
