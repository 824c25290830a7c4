"""Real servers for the remote-access tests: SCRAM users, `--auth`, TLS with a throwaway CA.

SecantusDB has no localhost exception, so users are created on a server started without
`--auth`, which is then stopped and started again with it, as the README tells an admin to do.
"""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from segcore.store import embedded


def provision(storage: Path, setup) -> None:
    """Start a server on `storage` without auth, call `setup(client)`, and stop it."""
    uri = embedded.ensure_server(storage)
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
    try:
        setup(client)
    finally:
        client.close()
        embedded.stop_server(storage)


@contextmanager
def secured_server(
    storage: Path, probe_uri: str, *, port: int, tls: tuple[Path, Path] | None = None
):
    """Run `python -m secantus --auth` (and TLS when `tls` is (cert, key)) until the block ends.

    `probe_uri` is a URI with working credentials; the server is up when it authenticates.
    """
    flags = ["--auth"]
    if tls:
        flags += ["--tls-cert-file", str(tls[0]), "--tls-key-file", str(tls[1])]
    with server_process(storage, probe_uri, port=port, flags=flags) as process:
        yield process


@contextmanager
def server_process(storage: Path, probe_uri: str, *, port: int, flags=()):
    """Run `python -m secantus` with `flags` until the block ends (up once `probe_uri` answers)."""
    command = embedded.server_command(storage, port, "ERROR", *flags)
    log = storage.with_name(storage.name + ".server.log")
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"secantus --auth exited with {process.returncode}: {log.read_text()[-2000:]}"
                )
            probe = MongoClient(probe_uri, serverSelectionTimeoutMS=500)
            try:
                probe.admin.command("ping")
                break
            except OperationFailure:
                break  # it answers: credentials are checked, which is all the probe needs
            except PyMongoError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            finally:
                probe.close()
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.pem" for name in ("ca", "ca_key", "cert", "key")}
    csr, ext = directory / "server.csr", directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    commands = [
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=segcore test CA",
            "-keyout",
            paths["ca_key"],
            "-out",
            paths["ca"],
        ],
        [
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            paths["key"],
            "-out",
            csr,
        ],
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            paths["ca"],
            "-CAkey",
            paths["ca_key"],
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            paths["cert"],
        ],
    ]
    for command in commands:
        subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=60)
    return paths
