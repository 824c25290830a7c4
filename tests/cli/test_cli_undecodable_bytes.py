"""Bytes that are not UTF-8 on the command line: a name typed in a Latin-1 or Windows-1252
terminal (`Jos\\xe9`) is refused in one usage error naming the argument, nothing written; a
path holding such bytes (a folder `proyecto_a\\xf1o`) is used as it is on disk."""

import json
import os
import subprocess
import sys

import pytest

NAME = b"Jos\xe9"  # José in Latin-1 / Windows-1252


@pytest.fixture
def run_bytes(cli_env, tmp_path):
    """Run the command line with argv and environment as bytes, as a terminal passes them."""
    base = {k.encode(): v.encode() for k, v in cli_env.items()}

    def run(*args: bytes, env: dict | None = None, input_bytes: bytes = b""):
        return subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"segcore", *args],
            capture_output=True,
            env={**base, **(env or {})},
            cwd=tmp_path,
            input=input_bytes,
            timeout=120,
        )

    return run


def _state(db) -> tuple:
    return (
        sorted(m["name"] for m in db.segmentadores.find()),
        db.app_users.count_documents({}),
        db.history.count_documents({}),
    )


@pytest.mark.parametrize(
    "args,named",
    [
        ([b"team", b"add", NAME], "'NAME'"),
        ([b"team", b"remove", NAME, b"--unassign"], "'NAME'"),
        ([b"history", NAME], "'[BATCH_ID]'"),
        ([b"receipts", b"--person", NAME], "'--person'"),
        ([b"user", b"add", NAME, b"--role", b"viewer", b"--password-stdin"], "'NAME'"),
        ([b"assign", b"batch_1", b"--to", NAME], "'--to'"),
    ],
)
def test_a_latin1_name_is_refused_naming_the_argument(db, run_cli, run_bytes, args, named):
    assert run_cli("team", "add", "Flor").returncode == 0
    before = _state(db)
    out = run_bytes(*args, input_bytes=b"a long password 1\n")
    stderr = out.stderr.decode()
    assert out.returncode == 2 and "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]  # after click's usage lines
    assert last == f"Error: Invalid value for {named}: 'Jos\\xe9' is not valid UTF-8 text"
    assert _state(db) == before


def test_a_data_folder_named_in_latin1_is_imported_and_its_images_found(db, run_bytes, tmp_path):
    folder = os.fsencode(tmp_path) + b"/proyecto_a\xf1o"
    os.makedirs(folder + b"/batch_1")
    os.makedirs(folder + b"/batch_2_a\xf1o")  # a batch folder named so: its id cannot be stored
    with open(folder + b"/batch_1/img_001.png", "wb") as image:
        image.write(b"\x89PNG")
    with open(folder + b"/batches.json", "w") as listed:
        listed.write(json.dumps(["batch_1"]))
    out = run_bytes(b"import", b"--file", folder + b"/batches.json")
    assert out.returncode == 0, out.stderr.decode()
    stored = db.batches.find_one({"id": "batch_1"})
    assert stored["folder"] == f"{tmp_path}/proyecto_a?o/batch_1"  # one '?' per such byte
    found = run_bytes(b"verify", b"batch_1", b"--json")  # the stored folder found on disk
    assert found.returncode == 0, found.stderr.decode()
    assert json.loads(found.stdout)["batches"][0]["images"] == 1
    scan = run_bytes(b"import", env={b"DATA_DIRECTORY": folder})
    assert scan.returncode == 1 and b"1 unchanged" in scan.stdout, scan.stderr.decode()
    assert scan.stderr.decode().splitlines()[-1] == (
        "refused: 'batch_2_a\\udcf1o' is not valid UTF-8; nothing was written for it"
    )
    assert [d["id"] for d in db.batches.find()] == ["batch_1"]
    assert db.batches.find_one({"id": "batch_1"}).get("folder_missing") is not True


@pytest.mark.parametrize(
    "command", [[b"user", b"add", b"pepe", b"--role", b"viewer"], [b"user", b"passwd", b"pepe"]]
)
def test_a_password_piped_in_latin1_is_refused_in_one_line(db, run_cli, run_bytes, command):
    """A password file saved in Latin-1 (`contrase\\xf1a`) ended in a UnicodeEncodeError
    traceback; the password is never shown."""
    if command[1] == b"passwd":
        added = run_cli(
            "user",
            "add",
            "pepe",
            "--role",
            "viewer",
            "--password-stdin",
            input_text="a long password\n",
        )
        assert added.returncode == 0, added.stderr
    before = list(db.app_users.find({}, {"_id": 0}))
    out = run_bytes(*command, b"--password-stdin", input_bytes=b"contrase\xf1a12345\n")
    stderr = out.stderr.decode()
    assert out.returncode == 1 and stderr == (
        "error: the password piped in is not valid UTF-8 text; save it as UTF-8 (nothing changed)\n"
    )
    assert list(db.app_users.find({}, {"_id": 0})) == before


def test_a_password_file_with_a_byte_order_mark_logs_in_with_the_password_typed(db, run_bytes):
    """Notepad's "UTF-8 with BOM" made the BOM part of the password: the user could never log
    in with the password typed, and each try counted toward the lockout."""
    from segcore.team import auth

    out = run_bytes(
        b"user",
        b"add",
        b"pepe",
        b"--role",
        b"viewer",
        b"--password-stdin",
        input_bytes="\ufeffcontrasena12345\r\n".encode(),
    )
    assert out.returncode == 0, out.stderr.decode()
    assert auth.authenticate(db, "pepe", "contrasena12345").name == "pepe"
