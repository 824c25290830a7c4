"""The command line end to end: real processes, exit codes, --json, one-line errors."""

import json
import subprocess
import sys

import pytest


def test_team_commands(run_cli, db):
    assert run_cli("team", "add", " Flor ", "--email", "flor@example.com").returncode == 0
    duplicate = run_cli("team", "add", "FLÓR")
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip() == "error: 'Flor' is already on the team."
    assert "Traceback" not in duplicate.stderr
    assert run_cli("team", "add", "Ceci", "--role", "Revisor").returncode == 0
    assert run_cli("team", "edit", "ceci", "--email", "ceci@example.com").returncode == 0
    listed = json.loads(run_cli("team", "list", "--json").stdout)
    assert [(m["name"], m["role"], m["email"]) for m in listed] == [
        ("Ceci", "Revisor", "ceci@example.com"),
        ("Flor", "Segmentador", "flor@example.com"),
    ]
    bad = run_cli("team", "edit", "Ceci", "--email", "nope")
    assert bad.returncode == 1 and "not a valid email" in bad.stderr


@pytest.mark.parametrize("pasted", ["Flor\u200b", "Flor\u00ad", "\ufeffFlor"])
def test_team_add_of_a_name_pasted_with_an_invisible_character_is_a_duplicate(run_cli, db, pasted):
    assert run_cli("team", "add", "Flor").returncode == 0
    duplicate = run_cli("team", "add", pasted)
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip() == "error: 'Flor' is already on the team."
    assert [d["name"] for d in db.segmentadores.find()] == ["Flor"]


def test_assign_status_history_and_remove(run_cli, db):
    db.batches.insert_many(
        [{"id": f"batch_{n}", "number": n, "status": "pending"} for n in range(1, 5)]
    )
    run_cli("team", "add", "Flor")
    run_cli("team", "add", "Ceci")
    done = run_cli("assign", "batch_1", "batch_2", "--to", "flor")
    assert done.returncode == 0 and "2 batches updated" in done.stdout
    missing = run_cli("assign", "batch_9", "--to", "Flor")
    assert missing.returncode == 1 and "batch_9" in missing.stderr
    status = json.loads(run_cli("status", "--json").stdout)
    assert (status["total"], status["assigned"], status["with_masks"], status["pending"]) == (
        4,
        2,
        0,
        4,
    )
    refused = run_cli("team", "remove", "Flor")
    assert refused.returncode == 1 and "2 open batches" in refused.stderr
    assert run_cli("team", "remove", "Flor", "--reassign-to", "Ceci").returncode == 0
    assert db.batches.count_documents({"assignee": "Ceci"}) == 2
    hist = json.loads(run_cli("history", "batch_1", "--json").stdout)
    assert [(h["old"], h["new"]) for h in hist] == [("Flor", "Ceci"), (None, "Flor")]
    assert hist[0]["author"].startswith("cli")


def test_user_add_names_the_second_of_two_members_spelled_alike_as_the_team_page(run_cli, db):
    db.segmentadores.insert_many([{"name": "Luis", "role": "a"}, {"name": "Luis", "role": "b"}])

    def add(member):
        return run_cli(
            *("user", "add", "luis_b", "--role", "segmentador", "--member", member),
            "--password-stdin",
            input_text="a long password\n",
        )

    refused = add("Luis")
    assert refused.returncode == 1 and "'Luis (2)' for the second" in refused.stderr
    added = add("Luis (2)")
    assert added.returncode == 0, added.stderr
    second = db.app_users.find_one({"name": "luis_b"})["member_id"]
    assert db.segmentadores.find_one({"_id": second})["role"] == "b"


def test_team_edit_and_remove_act_on_the_legacy_duplicate_spelled_so(run_cli, db):
    """José (added first) and a legacy Jose: `team edit Jose` and `team remove Jose` edited and
    removed José, with his login; a name both answer to is refused."""
    db.segmentadores.insert_many(
        [
            {"name": "José", "email": "jose@example.com"},
            {"name": "Jose", "email": "jose2@example.com"},
        ]
    )
    db.batches.insert_one({"id": "batch_1", "number": 1, "status": "pending", "assignee": "jose"})
    for login, member in (("jose", "José"), ("jose2", "Jose")):
        added = run_cli(
            "user",
            "add",
            login,
            "--role",
            "segmentador",
            "--member",
            member,
            "--password-stdin",
            input_text="a long password\n",
        )
        assert added.returncode == 0, added.stderr

    def team():
        listed = json.loads(run_cli("team", "list", "--json").stdout)
        return [(m["name"], m["email"]) for m in listed]

    edited = run_cli("team", "edit", "Jose", "--email", "jose.b@example.com")
    assert edited.returncode == 0 and edited.stdout.startswith("Jose: ")
    assert team() == [("José", "jose@example.com"), ("Jose", "jose.b@example.com")]
    for ambiguous in (["edit", "jose", "--role", "Revisor"], ["remove", "JOSE", "--unassign"]):
        refused = run_cli("team", *ambiguous)
        assert refused.returncode == 1
        assert refused.stderr.splitlines()[-1] == (  # after the team's duplicate warning
            f"error: '{ambiguous[1]}' could be any of 'José', 'Jose', who have the same name up "
            "to case, accents or spacing: type it exactly as the team list spells it."
        )
    assert run_cli("team", "remove", "Jose").returncode == 0
    assert team() == [("José", "jose@example.com")]
    users = json.loads(run_cli("user", "list", "--json").stdout)
    assert [(u["name"], u["member"]) for u in users] == [("jose", "José")]
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "jose"  # still José's


def test_import_command(run_cli, db, tmp_path):
    data = tmp_path / "data"
    for n in (1, 2, 3):
        (data / f"batch_{n}").mkdir(parents=True)
        (data / f"batch_{n}" / "a.png").write_bytes(b"x")
    out = run_cli("import", "--count-images", "--json", env={"DATA_DIRECTORY": str(data)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 3
    assert db.batches.find_one({"id": "batch_2"})["image_count"] == 1
    (data / "batches.json").write_text('[{"id": 3}]')
    bad = run_cli("import", env={"DATA_DIRECTORY": str(data)})
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "'id' must be a string" in bad.stderr


@pytest.mark.parametrize(
    "env,message",
    [
        ({"MONGO_DB": "bad name"}, "MONGO_DB"),
        (
            {"MONGO_URI": "mongodb://app:pa55word@127.0.0.1:1/", "MONGO_TIMEOUT_MS": "300"},
            "cannot be reached",
        ),
    ],
)
def test_errors_are_one_line_and_never_leak_the_password(run_cli, env, message):
    out = run_cli("status", "--json", env=env)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("error:") and message in out.stderr
    assert out.stderr.count("\n") == 1 and "pa55word" not in out.stderr


def test_demo_loads_once_then_refuses(run_cli, dbs, tmp_path):
    out = run_cli("demo", "--dir", str(tmp_path / "demo"), "--batches", "40", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["team"] == 5 and summary["batches"] == 40
    assert dbs.work.batches.count_documents({}) == 40
    assert (tmp_path / "demo" / "batches.json").is_file()
    again = run_cli("demo", "--dir", str(tmp_path / "demo2"))
    assert again.returncode == 1 and "already hold data" in again.stderr


def test_health_reports_both_databases(run_cli, settings):
    out = run_cli("health", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [h["database"] for h in report] == [settings.mongo_db, settings.training_db]
    assert all(h["reachable"] and h["rtt_ms"] is not None and h["version"] for h in report)


def test_health_json_says_an_unreachable_server_in_json_without_the_password(run_cli, settings):
    """A monitoring script asking for JSON gets JSON when the server is down: both databases,
    not reachable, and why (exit code 1, the error line on stderr as without --json)."""
    from tests.helpers import free_port

    uri = f"mongodb://coord:s3cret-pw@127.0.0.1:{free_port()}/"
    out = run_cli("health", "--json", env={"MONGO_URI": uri, "MONGO_TIMEOUT_MS": "300"})
    assert out.returncode == 1 and out.stderr.startswith("error:")
    report = json.loads(out.stdout)
    assert [h["database"] for h in report] == [settings.mongo_db, settings.training_db]
    assert all(not h["reachable"] and "cannot be reached" in h["error"] for h in report)
    assert all(h["rtt_ms"] is None and h["version"] is None for h in report)
    assert "s3cret-pw" not in out.stdout + out.stderr


def test_health_json_says_a_configuration_error_in_json(run_cli):
    out = run_cli("health", "--json", env={"MONGO_URI": "mongodb://user:p@ss@db.example.net/"})
    assert out.returncode == 1 and out.stderr.startswith("error:")
    [report] = json.loads(out.stdout)
    assert not report["reachable"] and "MONGO_URI" in report["error"]
    assert "p@ss" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    "args, said",
    [
        (("batches", "set", "--where-status", "revisado", "--status", "revieww"), "Status must"),
        (("batches", "set", "--where-status", "pending", "--status", "revieww"), "Status must"),
        (("batches", "set", "batch_404", "--priority", "urgent"), "Priority must"),
        (("batches", "set", "--where-status", "revisado", "--due", "2026-13-01"), "not a date"),
        (("assign", "batch_404", "--to", "Nobody"), "'Nobody' is not on the team"),
        (("team", "remove", "Nobody", "--unassign", "--reassign-to", "Flor"), "not both"),
    ],
)
def test_a_bad_value_is_refused_whether_or_not_anything_matches(run_cli, db, args, said):
    """A script's typo in the value asked is refused (exit 1, said once), also when no batch or
    member matches: it would otherwise pass as "0 batches updated"."""
    db.batches.insert_many([{"id": f"batch_{n}", "status": "pending"} for n in (1, 2)])
    done = run_cli(*args)
    assert done.returncode == 1 and said in done.stderr, done.stderr
    assert done.stderr.count(said) == 1
    assert db.batches.count_documents({"status": "pending"}) == 2


def test_batches_set_replaces_a_legacy_status_and_sets_fields(run_cli, db):
    # Issue 24 item 12: bulk edit from the command line, compare-and-set, in the history.
    db.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "status": "S" if n < 4 else "pending"}
            for n in range(1, 6)
        ]
    )
    done = run_cli("batches", "set", "--where-status", "S", "--status", "review")
    assert done.returncode == 0 and "3 batches updated" in done.stdout
    assert sorted(d["id"] for d in db.batches.find({"status": "review"})) == [
        "batch_1",
        "batch_2",
        "batch_3",
    ]
    done = run_cli(
        "batches", "set", "batch_4", "batch_5", "--priority", "alta", "--due", "2027-02-01"
    )
    assert done.returncode == 0 and "2 batches updated" in done.stdout
    assert db.batches.find_one({"id": "batch_5"})["metadata"] == {
        "priority": "alta",
        "due_date": "2027-02-01",
    }
    bad = run_cli("batches", "set", "batch_4", "--status", "S")
    assert bad.returncode == 1 and "Status must be one of" in bad.stderr
    assert db.batches.find_one({"id": "batch_4"})["status"] == "pending"
    hist = json.loads(run_cli("history", "batch_1", "--json").stdout)
    assert [(h["field"], h["old"], h["new"]) for h in hist] == [("status", "S", "review")]
    usage = run_cli("batches", "set", "batch_4")
    assert usage.returncode == 2 and "at least one of" in usage.stderr


def test_sync_content_without_verify_is_refused_before_anything_runs(run_cli, db, upload):
    db.batches.insert_one({"id": "batch_1", "status": "pending"})
    upload("batch_1.zip", b"PK\x05\x06" + bytes(18))
    refused = run_cli("sync", "--content")
    assert refused.returncode == 2 and "--content goes with --verify" in refused.stderr
    # nothing was synced: no run recorded, the batch as it was
    assert db.sync_runs.count_documents({}) == 0
    assert db.batches.find_one({"id": "batch_1"}, {"_id": 0}) == {
        "id": "batch_1",
        "status": "pending",
    }


def test_import_of_a_file_that_does_not_exist_is_refused_even_with_a_folder(run_cli, db, tmp_path):
    (tmp_path / "data" / "batch_1").mkdir(parents=True)
    typo = tmp_path / "batchs.json"
    done = run_cli("import", "--file", str(typo), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: The batches file '{typo}' does not exist on the server."
    assert db.batches.count_documents({}) == 0  # the folder alone was not imported instead


def test_history_and_receipts_of_a_batch_that_does_not_exist_fail(run_cli, db):
    """A typo in a script (`history batch_99`) answered "No changes recorded." with exit 0,
    where `verify` and `review` refuse it: every read command refuses it the same way."""
    db.batches.insert_many([{"id": "batch_1", "status": "pending"}, {"id": "batch_2"}])
    run_cli("team", "add", "Flor")
    for args in (("history", "batch_99"), ("history", ""), ("receipts", "batch_99")):
        out = run_cli(*args)
        assert out.returncode == 1 and "Traceback" not in out.stderr, (args, out.stderr)
        assert out.stderr.startswith("error: No batch") and out.stdout == "", args
    assert "'batch_99'" in run_cli("history", "batch_99").stderr
    assert "No batch batch_99 in the batch list." in run_cli("receipts", "batch_99").stderr
    assert "batch_99" in run_cli("receipts", "batch_1", "batch_99").stderr
    # a batch or member that exists, with nothing recorded: said, exit 0
    for args in (("history", "batch_1"), ("history", "Flor"), ("receipts", "batch_1")):
        out = run_cli(*args)
        assert out.returncode == 0, (args, out.stderr)
    assert run_cli("receipts", "batch_0001").returncode == 0  # batch_1 spelled otherwise
    # a batch removed since keeps its history
    assert run_cli("assign", "batch_2", "--to", "Flor").returncode == 0
    db.batches.delete_one({"id": "batch_2"})
    out = run_cli("history", "batch_2")
    assert out.returncode == 0 and "assignee" in out.stdout


def test_json_times_are_utc_with_their_offset_whatever_clock_they_were_stored_in(run_cli, db):
    """The office is in Mexico City. A member added now is listed by `team list --json` at the
    same moment `history --json` records them added, both in UTC with "+00:00", not the
    office's wall clock next to UTC; a legacy wall-clock `created_at` is the moment it names,
    and one that is no date stays as stored."""
    from datetime import datetime, timedelta

    office = {"TIMEZONE": "America/Mexico_City"}
    assert run_cli("team", "add", "Flor", env=office).returncode == 0
    db.segmentadores.insert_many(
        [
            {"name": "Old", "name_key": "old", "created_at": "2026-12-06 17:30:00"},
            {"name": "Odd", "name_key": "odd", "created_at": "yesterday"},
        ]
    )
    listed = {
        m["name"]: m["created_at"]
        for m in json.loads(run_cli("team", "list", "--json", env=office).stdout)
    }
    [added] = json.loads(run_cli("history", "Flor", "--json", env=office).stdout)
    assert listed["Flor"].endswith("+00:00") and added["at"].endswith("+00:00")
    gap = datetime.fromisoformat(listed["Flor"]) - datetime.fromisoformat(added["at"])
    assert abs(gap) < timedelta(seconds=2)
    assert listed["Old"] == "2026-12-06T23:30:00+00:00"
    assert listed["Odd"] == "yesterday"


def test_json_writes_every_time_in_utc_and_days_as_they_are():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from segcore.cli.base import json_text

    shown = json.loads(
        json_text(
            {
                "stored": datetime(2026, 12, 6, 23, 30),  # naive: UTC, as pymongo returns it
                "office": datetime(2026, 12, 6, 17, 30, tzinfo=ZoneInfo("America/Mexico_City")),
                "due": date(2026, 12, 20),
            }
        )
    )
    assert shown == {
        "stored": "2026-12-06T23:30:00+00:00",
        "office": "2026-12-06T23:30:00+00:00",
        "due": "2026-12-20",
    }


@pytest.mark.parametrize(
    "args", [["status", "--json"], ["team", "list"], ["sync", "--json"], ["--help"]]
)
def test_output_to_a_full_disk_is_one_error_line(db, cli_env, tmp_path, args):
    """cron's `segcore sync --json >> sync.log` with the log's disk full ended in a 40-line
    traceback (OSError ENOSPC) in the cron mail."""
    db.segmentadores.insert_one({"name": "Flor"})
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [sys.executable, "-m", "segcore", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env,
            cwd=tmp_path,
            timeout=120,
        )
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1] == "error: cannot write the output: No space left on device"
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr


@pytest.mark.parametrize(
    "args", [["status", "--json"], ["team", "list"], ["receipts", "--json"], ["--help"]]
)
def test_a_closed_standard_output_is_an_error_not_a_silent_success(db, cli_env, tmp_path, args):
    """`segcore status >&-` printed nothing and exited 0, as if its output had been delivered."""
    db.segmentadores.insert_one({"name": "Flor"})
    out = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "segcore", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=120,
    )
    assert (out.returncode, out.stderr) == (
        1,
        "error: cannot write the output: Bad file descriptor\n",
    )


def test_a_reader_that_stops_early_still_ends_the_command_quietly(db, cli_env, tmp_path):
    """`| head -1` is no error worth a line: click ends the command on EPIPE, as before."""
    db.segmentadores.insert_many([{"name": f"Member {n}"} for n in range(3000)])
    out = subprocess.run(
        ["sh", "-c", '"$@" | head -c 10 >/dev/null', "sh", sys.executable, "-m", "segcore"]
        + ["team", "list"],
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.stderr == ""
