"""`segcore alerts` and `segcore report` run as a cron job or a coordinator would run them."""

import json
import resource
import stat
import subprocess
import sys
from datetime import timedelta

from tests.pace_seed import record_sync, seed_pace


def test_alerts_on_a_quiet_team_say_nothing_needs_attention(run_cli, db):
    record_sync(db, timedelta(minutes=1))
    out = run_cli("alerts", "--fail-on-alert")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Nothing needs attention."
    found = json.loads(run_cli("alerts", "--json").stdout)
    assert found.pop("last_sync")
    assert found == {
        "waiting_for_sync": False,
        "stale": False,
        "stalled": [],
        "at_risk": [],
        "suggested_moves": [],
    }


def test_before_any_sync_alerts_say_a_sync_is_needed_instead_of_alarming(run_cli, db):
    seed_pace(db, synced_ago=None)  # Cai "stalled", three batches "at risk" once synced
    out = run_cli("alerts", "--fail-on-alert")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("No sync has run yet:") and "segcore sync" in out.stdout
    assert "Stalled" not in out.stdout and "Cai" not in out.stdout
    found = json.loads(run_cli("alerts", "--json").stdout)
    assert found == {
        "waiting_for_sync": True,
        "stale": False,
        "last_sync": None,
        "stalled": [],
        "at_risk": [],
        "suggested_moves": [],
    }


def test_a_stale_sync_is_named_next_to_every_alert(run_cli, db):
    seed_pace(db, synced_ago=timedelta(days=3))
    out = run_cli("alerts")
    assert out.stdout.startswith("As of the last sync, 3 days ago (stale):")
    for section in ("Stalled (1", "At risk (3", "Suggested moves (3"):
        assert f"{section}, as of the sync 3 days ago):" in out.stdout
    found = json.loads(run_cli("alerts", "--json").stdout)
    assert found["stale"] is True and [s["name"] for s in found["stalled"]] == ["Cai"]


def test_alerts_json_and_the_cron_exit_code(run_cli, db):
    expected = seed_pace(db)
    out = run_cli("alerts", "--json", "--fail-on-alert")
    assert out.returncode == 3, out.stderr
    found = json.loads(out.stdout)
    assert [(s["name"], s["open"], s["days_since"]) for s in found["stalled"]] == [("Cai", 2, 20)]
    assert set(found["stalled"][0]) == {"name", "open", "last_delivery", "days_since"}
    assert {b["id"] for b in found["at_risk"]} == expected["at_risk"]
    assert all(set(b) == {"id", "assignee", "due_date", "projected"} for b in found["at_risk"])
    assert {m["id"]: (m["from"], m["to"]) for m in found["suggested_moves"]} == {
        "batch_1": ("Ana", "Bea"),
        "batch_5": ("Cai", "Bea"),
        "batch_7": ("Zoe", "Bea"),
    }
    assert all(set(m) == {"id", "from", "to", "reason"} for m in found["suggested_moves"])
    text = run_cli("alerts")
    assert text.returncode == 0
    assert "Stalled (1):" in text.stdout and "batch_7" in text.stdout
    assert "Zoe -> Bea  Zoe is no longer on the team" in text.stdout
    assert db.batches.count_documents({"assignee": "Bea", "mongo_uploaded": False}) == 0


def test_stall_days_setting_changes_who_is_stalled(run_cli, db):
    seed_pace(db)
    found = json.loads(run_cli("alerts", "--json", env={"STALL_DAYS": "30"}).stdout)
    assert found["stalled"] == []
    bad = run_cli("alerts", env={"STALL_DAYS": "never"})
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "STALL_DAYS" in bad.stderr


def test_weekly_report_in_markdown(run_cli, db, tmp_path):
    seed_pace(db)
    out = run_cli("report", "--out", str(tmp_path / "week.md"))
    assert out.returncode == 0, out.stderr
    report = (tmp_path / "week.md").read_text()
    assert report.startswith("# Segmentation weekly report, ")
    assert (
        "- Batches: 39 in total, 38 assigned, 31 uploaded, 31 delivered and usable, "
        "8 without masks (79.5% delivered)" in report
    )
    assert "| Cai | 2 | 0 | 1 | 0.05 |" in report and "| stalled |" in report
    assert "| Zoe | 1 | 0 | 0 | 0.00 | - | - | no longer on the team |" in report
    assert "### Suggested moves (3)" in report and "- batch_7: Zoe → Bea" in report
    assert run_cli("report").stdout == report
    bad = run_cli("report", "--out", str(tmp_path / "no" / "such" / "dir.md"))
    assert bad.returncode == 1 and bad.stderr.startswith("error: Cannot write")
    assert "Traceback" not in bad.stderr


def test_a_huge_stored_assignee_is_cut_in_alerts_and_the_report(run_cli, db, tmp_path):
    """Another tool stored a 20,000-character assignee: `alerts` and the weekly report show its
    first 80 characters with an ellipsis (as any name the team accepts shows whole), while the
    JSON, which scripts read, keeps the stored value."""
    seed_pace(db)
    huge = "Z" * 20_000
    db.batches.update_one({"id": "batch_7"}, {"$set": {"assignee": huge}})
    out = run_cli("alerts")
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) < 400
    assert f"batch_7      {'Z' * 80}…" in out.stdout and f"{'Z' * 80}… -> Bea" in out.stdout
    found = json.loads(run_cli("alerts", "--json").stdout)
    assert huge in {b["assignee"] for b in found["at_risk"]}
    assert run_cli("report", "--out", str(tmp_path / "week.md")).returncode == 0
    report = (tmp_path / "week.md").read_text()
    assert max(len(line) for line in report.splitlines()) < 400
    assert f"| {'Z' * 80}… | 1 | 0 | 0 | 0.00 |" in report
    assert f"- batch_7: {'Z' * 80}… → Bea" in report


def test_a_priority_stored_as_a_list_is_shown_as_stored_not_a_traceback(run_cli, db):
    """Another tool stored `["alta"]`: alerts and report exited 1 with a 48-line traceback
    (`unhashable type: 'list'` ordering the open queue). A batch without an id beside it."""
    seed_pace(db)
    db.batches.update_many(
        {"assignee": "Cai"}, {"$set": {"metadata.priority": ["alta"], "status": "pending"}}
    )
    db.batches.insert_one({"assignee": "Cai", "status": "pending"})  # no id at all
    for command in ("alerts", "report", "status"):
        out = run_cli(command)
        assert out.returncode == 0, out.stderr
        assert "Traceback" not in out.stderr and out.stdout


def test_a_report_that_cannot_be_written_leaves_last_weeks_file_whole(
    cli_env, run_cli, db, tmp_path
):
    """A full disk (here a file size limit: the same failed write) ends in one line and exit 1,
    and last week's report at that path is still there, not emptied or cut."""
    seed_pace(db)
    week = tmp_path / "week.md"
    assert run_cli("report", "--out", str(week)).returncode == 0
    last_week = week.read_bytes()
    out = subprocess.run(
        [sys.executable, "-m", "segcore", "report", "--out", str(week)],
        capture_output=True,
        text=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64)),
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [f"error: Cannot write {week}: File too large"]
    assert week.read_bytes() == last_week
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".week")) == []
    assert run_cli("report", "--out", str(week)).returncode == 0


def test_a_report_keeps_the_files_permissions_and_a_link(run_cli, db, tmp_path):
    seed_pace(db)
    real = tmp_path / "shared" / "week.md"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "week.md"
    link.symlink_to(real)
    assert run_cli("report", "--out", str(link)).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("# Segmentation weekly report, ")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_removing_a_newcomer_keeps_their_pace_in_the_weekly_report(run_cli, db):
    """José joined today and delivered 3 batches: his pace is counted since he joined, and
    stays so after his removal (it fell to 3 over the whole 28-day window, 0.15)."""
    from segcore.core.timefmt import utcnow
    from tests.pace_seed import _delivered

    for name in ("José María Ávila", "Eva Martín"):
        assert run_cli("team", "add", name).returncode == 0
    now = utcnow()
    db.batches.insert_many(
        [_delivered(f"batch_{n}", "José María Ávila", now) for n in (1, 2, 3)]
        + [
            {"id": f"batch_{n}", "assignee": "José María Ávila", "status": "pending"}
            for n in (4, 5)
        ]
    )
    record_sync(db, timedelta(minutes=1))

    def jose_row():
        report = run_cli("report", "--language", "es").stdout
        [row] = [line for line in report.splitlines() if line.startswith("| José María Ávila")]
        return [cell.strip() for cell in row.split("|")[1:-1]]

    assert jose_row()[:5] == ["José María Ávila", "2", "3", "3", "3.00"]
    out = run_cli("team", "remove", "José María Ávila", "--reassign-to", "Eva Martín")
    assert out.returncode == 0, out.stderr
    row = jose_row()
    assert row[:5] == ["José María Ávila", "0", "3", "3", "3.00"]
    assert row[-1] == "ya no está en el equipo"
