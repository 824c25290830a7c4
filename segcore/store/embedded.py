"""The embedded MongoDB-compatible server used when no MONGO_URI is configured.

It runs as a detached subprocess (in-process it would compete with the app for the GIL) on
127.0.0.1, with its data on disk. The app and the command line share it: the first one to need it
starts it and writes `<path>.server.json`; later ones find it there and reuse it. A second server
on the same directory would fail, so starting is serialised with a file lock. A restart takes
the port of the last start when it is free (`<path>.port`), so clients opened before a
`stop-server` reconnect by themselves. The process is
`embedded_server`'s: the same server, plus what it leaves undone (giving up a killed command's
transaction after 60 s).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from segcore.core.errors import N_, EmbeddedServerError

HOST = "127.0.0.1"


def _state_file(path: Path) -> Path:
    return path.with_name(path.name + ".server.json")


@contextmanager
def _locked(path: Path):
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uri(port: int) -> str:
    return f"mongodb://{HOST}:{port}/?directConnection=true"


def _answers(uri: str, timeout_ms: int = 1500) -> bool:
    client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


# Keep a day of change history (the server's default is an hour and 100,000 entries), so a
# routine sync can resume from where the last one stopped instead of re-reading every upload.
OPLOG = ("--oplog-retention-seconds", str(26 * 3600), "--oplog-max-entries", "2000000")


# The embedded server's process (see embedded_server), and the word that names a server in a
# command line: `python -m secantus` for one an earlier version started, still running.
LAUNCHER = "segcore.store.embedded_server"
SERVER_WORDS = ("secantus", LAUNCHER)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds segcore


def _free_port(wanted: int = 0) -> int:
    """`wanted` when nothing listens on it (0: any free port), else any free port.

    The probe binds as the server does (SO_REUSEADDR): the connections of a server just
    stopped linger in TIME_WAIT on its port, which would refuse a plain bind for a minute.
    """
    if wanted:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, wanted))
                return wanted
            except OSError:
                pass  # another program has it now
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _port_file(path: Path) -> Path:
    return path.with_name(path.name + ".port")


def _last_port(path: Path) -> int:
    """The port the server on `path` had last time, or 0 when unknown.

    A restarted server takes it again when it is free, so every long-running client (the app's
    cached connection, `sync --watch`, their worker threads) reconnects by itself after a
    `stop-server`: their driver keeps retrying the address it was given.
    """
    try:
        port = int(_port_file(path).read_text().strip())
    except (OSError, ValueError):
        return 0
    return port if 1024 <= port <= 65535 else 0


def _process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # field 22 of proc(5), "starttime"
    except (IndexError, ValueError):
        return None


def _is_our_server(pid: int, path: Path, started: int | None) -> bool:
    """True when `pid` is the server started for `path` (not a recycled PID).

    A PID in a stale state file may by now belong to any program; signalling it would kill
    that program. Its command line must name secantus and this storage path, and its start
    time must be the one recorded when segcore started it.
    """
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode(errors="replace") for a in argv]
    if not set(SERVER_WORDS) & set(words) or str(path) not in words:
        return False
    return started is None or _process_start(pid) == started


def running_server(path: str | os.PathLike) -> str | None:
    """The URI of a live embedded server on `path`, or None."""
    state = _state_file(Path(path).resolve())
    try:
        uri = json.loads(state.read_text())["uri"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return uri if _answers(uri) else None


@contextmanager
def _storage_errors(path: Path):
    """Turn a storage folder that cannot be made or written into one line naming the setting.

    The first run of every new user creates it: a path under a regular file or in a read-only
    folder must say so, not end in a traceback.
    """
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        if exc.filename:
            raise EmbeddedServerError(
                N_(
                    "EMBEDDED_DB_PATH={path!r}: the embedded database folder cannot be created "
                    "or written ({reason}: {filename})"
                ),
                path=str(path),
                reason=reason,
                filename=exc.filename,
            ) from None
        raise EmbeddedServerError(
            N_(
                "EMBEDDED_DB_PATH={path!r}: the embedded database folder cannot be created or "
                "written ({reason})"
            ),
            path=str(path),
            reason=reason,
        ) from None


def ensure_server(path: str | os.PathLike, start_timeout: float = 60.0) -> str:
    """Return the URI of the embedded server on `path`, starting it if none is running.

    Raises EmbeddedServerError when the server cannot be started, or its folder cannot be
    created or written.
    """
    path = Path(path).resolve()
    with _storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            return running_server(path) or _start(path, start_timeout)


def server_command(
    path: Path, port: int, log_level: str, *flags: str, module: str = "secantus"
) -> list[str]:
    """The command line of a SecantusDB server on `port` storing its data in `path`: a plain one
    (`python -m secantus`, as an admin runs one with `--auth`), or through `module`."""
    return [
        sys.executable,
        "-m",
        module,
        "--host",
        HOST,
        "--port",
        str(port),
        "--storage-path",
        str(path),
        "--log-level",
        log_level,
        *flags,
    ]


def embedded_command(path: Path, port: int) -> list[str]:
    """The command line of the embedded server (`embedded_server`) on `port` for `path`."""
    return server_command(path, port, "WARNING", *OPLOG, module=LAUNCHER)


def _start(path: Path, start_timeout: float) -> str:
    path.mkdir(exist_ok=True)  # fails here, with a clear message, when it cannot be written
    port = _free_port(_last_port(path))
    log_path = path.with_name(path.name + ".log")
    # The server runs this very segcore, wherever it was imported from (an app started by
    # path, a checkout on PYTHONPATH), whatever the current folder.
    python_path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            embedded_command(path, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": python_path},
            start_new_session=True,  # outlives the app or command that started it
        )
    uri = _uri(port)
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(
                N_("the embedded database server exited at start-up (code {code}); see {log}"),
                code=process.returncode,
                log=log_path,
            )
        if _answers(uri, timeout_ms=500):
            _state_file(path).write_text(
                json.dumps({"uri": uri, "pid": process.pid, "started": _process_start(process.pid)})
            )
            _port_file(path).write_text(f"{port}\n")  # kept by stop_server: see _last_port
            return uri
        time.sleep(0.1)
    process.kill()
    raise EmbeddedServerError(
        N_("the embedded database server did not answer within {seconds} s; see {log}"),
        seconds=f"{start_timeout:.0f}",
        log=log_path,
    )


def stop_server(path: str | os.PathLike, timeout: float = 15.0) -> bool:
    """Stop the embedded server on `path`; return False when none was running."""
    path = Path(path).resolve()
    if not path.parent.is_dir():
        return False  # never started here, and nothing to clean up
    with _storage_errors(path), _locked(path):
        state = _state_file(path)
        try:
            recorded = json.loads(state.read_text())
            pid, started = int(recorded["pid"]), recorded.get("started")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        state.unlink(missing_ok=True)
        if not _is_our_server(pid, path, started if isinstance(started, int) else None):
            return False  # that server is gone; the PID may now be another program's
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)  # reap it if this process started it
            except ChildProcessError:
                pass
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        return True


def storage_of(port: int) -> Path | None:
    """The storage folder of the SecantusDB server listening on `port` of this machine (the
    embedded server, or one started with `python -m secantus`), as its command line names it;
    None when no such process is found (the server is elsewhere, or /proc cannot be read).

    A restart may take another port (its last one taken meanwhile), never another folder."""
    try:
        pids = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return None
    for entry in pids:
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if not set(SERVER_WORDS) & set(words):
            continue
        options = _options(words)
        if options.get("--port") != str(port) or not options.get("--storage-path"):
            continue
        folder = Path(options["--storage-path"])
        if not folder.is_absolute():
            try:
                folder = Path(os.readlink(entry / "cwd")) / folder
            except OSError:
                continue
        return Path(os.path.normpath(folder))
    return None


def _options(words: list[str]) -> dict[str, str]:
    """{"--name": value} of a command line, spelled `--name value` or `--name=value`."""
    options = {}
    for word, following in zip(words, words[1:] + [""]):
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            options[name] = value if equals else following
    return options
