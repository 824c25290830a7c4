"""Every command's output escapes what a terminal would act on (escape sequences, \\r, C1
controls, bidi overrides) in names from inside archives, upload filenames, batch ids, team
names and history values, in text and in --json, on stdout and stderr."""

import json
import re
import subprocess
from datetime import datetime

import pytest
from gridfs import GridFS

from segcore.cli.base import json_text
from segcore.core.naming import printable, unsafe_character

ESC = "\x1b]0;pwned\x07\x1b[2J"
HOSTILE = [ESC, "\r", "\x9b31m", "\u202e", "\u2066", "\x7f", "\u2028"]
NAME = "Flor" + "".join(HOSTILE)


def raw_unsafe(text: str) -> list[str]:
    return sorted({repr(ch) for ch in text if ch != "\n" and unsafe_character(ch)})


@pytest.mark.parametrize("text", HOSTILE)
def test_the_helper_escapes_each_kind(text):
    assert raw_unsafe(printable(f"a{text}b")) == []
    assert json.loads(json_text({"k": f"a{text}b"})) == {"k": f"a{text}b"}  # same data
    assert raw_unsafe(json_text({"k": f"a{text}b"})) == []


def test_plain_text_and_newlines_are_kept():
    assert printable("Flór 12 – ok") == "Flór 12 – ok"
    assert printable("one\ntwo", keep_newlines=True) == "one\ntwo"
    assert printable("one\ntwo") == "one\\ntwo"


@pytest.fixture
def hostile_lab(dbs, tmp_path):
    """Hostile names everywhere a command prints one, stored as other tools could store them."""
    data = tmp_path / "data"
    folder = data / "batch_1"
    folder.mkdir(parents=True)
    (folder / "img_001.png").write_bytes(b"\x89PNG")
    masks = tmp_path / "masks"
    masks.mkdir()
    for name in ("img_001_mask.png", f"img_{ESC}_mask.png", "\u202egnp.ksam_100_gmi"):
        (masks / name).write_bytes(b"m")
    archive = tmp_path / "masks.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(masks), "."], check=True)
    bucket = GridFS(dbs.training, collection="masks")
    bucket.put(
        archive.read_bytes(), filename=f"batch_1{ESC}.tar.gz", metadata={"uploaded_by": NAME}
    )
    bucket.put(b"x", filename="batch_2\r\x9b.zip", metadata={"uploaded_by": "ceci"})
    dbs.masks_files.insert_one(
        {
            "_id": f"odd{ESC}",
            "filename": f"batch_1_{ESC}.zip",
            "length": "big",
            "uploadDate": datetime(2025, 1, 1),
        }
    )
    dbs.work.batches.insert_many(
        [
            {
                "id": "batch_1",
                "number": 1,
                "folder": str(folder),
                "assignee": NAME,
                "status": "pending",
                "metadata": {"due_date": "2020-01-01"},
            },
            {"id": f"batch_9{ESC}", "number": 9, "assignee": NAME, "status": f"s{ESC}"},
        ]
    )
    dbs.work.segmentadores.insert_one(
        {"name": NAME, "name_key": "flor-hostile", "role": f"r{ESC}", "created_at": "2020-01-01"}
    )
    dbs.work.history.insert_one(
        {
            "at": datetime(2025, 1, 1),
            "author": f"a{ESC}",
            "kind": "batch",
            "key": "batch_1",
            "field": "assignee",
            "old": f"x{ESC}",
            "new": NAME,
        }
    )
    dbs.work.history.insert_many(
        [
            {"at": "yesterday", "key": f"k{ESC}"},  # other tools'
            {"at": datetime(9999, 12, 31, 23), "new": {"x": ESC}},
        ]
    )
    return data


COMMANDS = [
    ["sync", "--full"],
    ["sync", "--json"],
    ["uploads", "--recent", "10"],
    ["uploads", "--unusable"],
    ["uploads", "--mismatches", "--json"],
    ["verify", "--all"],
    ["verify", "--all", "--json"],
    ["team", "list"],
    ["team", "list", "--json"],
    ["history"],
    ["history", "--json"],
    ["alerts"],
    ["alerts", "--json"],
    ["report"],
    ["status"],
    ["assign", f"batch_5{ESC}", "--to", "x"],
    ["team", "remove", NAME],
    [f"no-such{ESC}"],
    ["team", "add", "--bogus", ESC],
]


def test_no_command_prints_a_raw_control_character(hostile_lab, run_cli):
    env = {"DATA_DIRECTORY": str(hostile_lab)}
    printed = []
    for args in COMMANDS:
        out = run_cli(*args, env=env)
        assert "Traceback" not in out.stderr, (args, out.stderr)
        assert raw_unsafe(out.stdout) == [] and raw_unsafe(out.stderr) == [], args
        printed.append(out.stdout + out.stderr)
    text = "\n".join(printed)
    assert "\\x1b]0;pwned\\x07" in text and "\\u202e" in text and "\\x9b" in text
    assert "img_\\x1b]0;pwned\\x07\\x1b[2J_mask.png" in text  # a name inside the archive
    assert "batch_2\\r\\x9b.zip" in text  # an upload's filename


def test_the_report_file_is_escaped_too(hostile_lab, run_cli, tmp_path):
    out = run_cli("report", "--out", str(tmp_path / "week.md"))
    assert out.returncode == 0, out.stderr
    assert raw_unsafe((tmp_path / "week.md").read_text()) == []


def test_every_command_prints_through_the_one_helper():
    """No command module prints around `echo`/`emit_json` (base.py holds the only raw calls)."""
    from pathlib import Path

    import segcore.cli

    raw = re.compile(r"\bclick\.(echo|secho)\(|(?<![\w.])print\(|sys\.std(out|err)\.write\(")
    folder = Path(segcore.cli.__file__).parent
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(folder.glob("*.py"))
        if path.name != "base.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if raw.search(line)
    ]
    assert offenders == []
