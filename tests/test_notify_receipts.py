"""Receipt notifications made from the stored receipts, whoever made them (a cron sync, the live
sync, `verify`, the content checks): real archives made by GNU tar and Info-ZIP, a real SMTP
server (aiosmtpd) on loopback, the command line and `sync --watch` as their own processes."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from segcore.content.formats.read_reasons import COLOUR
from segcore.core.translations import translations
from segcore.masks.receipts import NOTIFY_DUE
from segcore.notify import notify_due, notify_outbox
from segcore.prepare import prepare
from segcore.store.connection import open_databases
from segcore.sync import sync
from segcore.team import auth, team
from tests.receipt_seed import DICOMS, masks, real_archive
from tests.sync.test_live_sync import wait_for, watcher


@pytest.fixture
def lab(dbs, client, tmp_path, smtp):
    """Databases with real DICOM image folders, Flor (Spanish, with an email) on the team, Ana
    a coordinator reading English, and email going to the loopback server."""
    data = tmp_path / "data"
    data.mkdir()
    settings = replace(
        dbs.settings,
        data_directory=data,
        smtp_url=f"smtp://127.0.0.1:{smtp.port}",
        notify_from="Dashboard <dashboard@example.org>",
        notify_coordinators=(("Ana", "ana@example.org"),),
        notify_timeout_s=5,
        language="es",
    )
    databases = open_databases(settings, client=client)
    prepare(databases)
    team.add_member(databases.work, "Flor", email="flor@example.org")
    auth.add_user(databases.work, "Ana", "coordinator", "a long password 1")
    auth.set_language(databases.work, "Ana", "en")

    def batch(number: int, count: int):
        folder = data / f"batch_{number}"
        folder.mkdir()
        for n in range(1, count + 1):
            shutil.copyfile(DICOMS[n % len(DICOMS)], folder / f"img_{n:03d}.dcm")
        databases.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "status": "pending",
                "folder": str(folder),
                "assignee": "Flor",
            }
        )

    databases.batch = batch
    databases.tmp = tmp_path
    return databases


@pytest.fixture
def env(cli_env, lab, smtp):
    return {
        **cli_env,
        "DATA_DIRECTORY": str(lab.settings.data_directory),
        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "NOTIFY_FROM": "dash@example.org",
        "NOTIFY_COORDINATORS": "Ana <ana@example.org>",
        "LANGUAGE": "es",
        "NOTIFY_DAILY": "off",
        "NOTIFY_WEEKLY": "off",
    }


def put(lab, filename: str, data: bytes):
    import gridfs

    bucket = gridfs.GridFSBucket(lab.training, bucket_name=lab.settings.masks_bucket)
    return bucket.upload_from_stream(filename, data, metadata={"uploaded_by": "flor"})


def truncated_tar(lab, name: str) -> bytes:
    whole = real_archive(lab.tmp, "tar", masks(3), name)
    return whole[: len(whole) // 2]


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def by_recipient(smtp) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in smtp.messages:
        found.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    return found


def test_a_cron_sync_receipts_reach_people_through_send_due_once(lab, env, smtp, run_cli):
    """A routine sync makes the receipts; `notify --send-due` (the timer) tells the uploader and
    the coordinator, each in their language; a re-sync, a full re-read and a second run send
    nothing more."""
    for number in (1, 2, 3):
        lab.batch(number, 3)
    put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
    put(lab, "batch_2.zip", real_archive(lab.tmp, "zip", masks(3, skip=(2,)), "b.zip"))
    put(lab, "batch_3.zip", real_archive(lab.tmp, "zip", masks(3), "c.zip"))
    done = run_cli("sync", env=env)
    assert done.returncode == 0, done.stderr
    sent = run_cli("notify", "--send-due", env=env)
    assert sent.returncode == 0, sent.stderr
    mail = by_recipient(smtp)
    assert sorted(mail) == ["ana@example.org", "flor@example.org"]
    assert [len(m) for m in mail.values()] == [2, 2]  # the two bad uploads, not the good one
    flor = {m["Subject"].split(":")[0]: body(m) for m in mail["flor@example.org"]}
    ana = {m["Subject"].split(":")[0]: body(m) for m in mail["ana@example.org"]}
    listing = lab.work.mask_checks.find_one({"filename": "batch_1_masks.tar.gz"})
    spanish = translations("es").gettext(listing["reason_code"])
    assert spanish != listing["reason_code"]
    reason = spanish.format(**(listing.get("reason_params") or {}))
    assert f"No se puede leer: {reason}" in flor["Carga batch_1_masks.tar.gz"]
    assert f"It cannot be read: {listing['reason']}" in ana["Upload batch_1_masks.tar.gz"]
    assert "img_002.dcm" in flor["Carga batch_2.zip"] and "img_002.dcm" in ana["Upload batch_2.zip"]

    assert run_cli("sync", env=env).returncode == 0
    assert run_cli("sync", "--full", env=env).returncode == 0
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    assert run_cli("verify", "--recheck", env=env).returncode == 0
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    assert len(smtp.messages) == 4
    assert lab.work.receipts.count_documents({NOTIFY_DUE: True}) == 0


def png_zip(members: dict[str, Image.Image]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, image in members.items():
            png = io.BytesIO()
            image.save(png, format="PNG")
            archive.writestr(name, png.getvalue())
    return out.getvalue()


def test_content_problems_are_in_the_receipt_message(lab, env, smtp, run_cli):
    """`sync --verify --content`: an upload with every mask present but one empty and one of
    the wrong size is told about once, naming both masks, in Flor's Spanish."""
    folder = lab.settings.data_directory / "batch_5"
    folder.mkdir()
    for n in (1, 2, 3):
        Image.new("L", (16, 16), 40 * n).save(folder / f"img_{n:03d}.png")
    lab.work.batches.insert_one(
        {"id": "batch_5", "status": "pending", "folder": str(folder), "assignee": "Flor"}
    )
    good = Image.new("L", (16, 16), 0)
    good.putpixel((3, 3), 1)
    put(
        lab,
        "batch_5.zip",
        png_zip(
            {
                "img_001_mask.png": good,
                "img_002_mask.png": Image.new("L", (16, 16), 0),
                "img_003_mask.png": Image.new("L", (16, 17), 1),
            }
        ),
    )
    done = run_cli("sync", "--verify", "--content", env=env)
    assert done.returncode == 0, done.stderr
    receipt = lab.work.receipts.find_one({"filename": "batch_5.zip"})
    assert receipt["problem"] == "content" and receipt["usable"] is False
    assert lab.work.receipts.count_documents({NOTIFY_DUE: True}) == 0  # enqueued already
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    mail = by_recipient(smtp)
    [flor] = mail["flor@example.org"]
    [ana] = mail["ana@example.org"]
    assert "img_002_mask.png: vacía" in body(flor)
    assert "img_003_mask.png: 16×17" in body(flor) or "img_003_mask.png: 16" in body(flor)
    assert "img_002_mask.png: empty" in body(ana)
    assert "img_001_mask.png" not in body(ana)


def test_why_a_mask_cannot_be_read_is_in_the_readers_language(lab, env, smtp, run_cli):
    """With LANGUAGE=es, a colour image uploaded as a mask: Flor's email says why it cannot be
    read in Spanish, as the pages do, Ana's in English."""
    folder = lab.settings.data_directory / "batch_6"
    folder.mkdir()
    Image.new("L", (16, 16), 40).save(folder / "img_001.png")
    lab.work.batches.insert_one(
        {"id": "batch_6", "status": "pending", "folder": str(folder), "assignee": "Flor"}
    )
    colour = Image.new("RGB", (16, 16), (0, 0, 0))
    colour.putpixel((3, 3), (200, 10, 10))
    put(lab, "batch_6.zip", png_zip({"img_001_mask.png": colour}))
    assert run_cli("sync", "--verify", "--content", env=env).returncode == 0
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    mail = by_recipient(smtp)
    [flor], [ana] = mail["flor@example.org"], mail["ana@example.org"]
    spanish = translations("es").gettext(COLOUR)
    assert spanish != COLOUR
    assert f"img_001_mask.png: ilegible ({spanish})" in body(flor)
    assert f"img_001_mask.png: unreadable ({COLOUR})" in body(ana)


def test_the_live_sync_tells_about_its_receipts_itself_once_across_a_restart(
    lab, env, smtp, tmp_path
):
    """`sync --watch` with email configured: a bad upload's receipt reaches Flor and Ana with
    no other command; a restart (which catches up) sends it again to nobody."""
    lab.batch(1, 3)
    lab.batch(2, 3)
    sync.run_sync(lab)
    log = tmp_path / "live.log"
    with watcher(env, log):
        put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
        assert len(smtp.wait_for(2, 60)) == 2
    with watcher(env, log):
        # A second bad upload after the restart: its two messages arriving shows the restarted
        # live sync at work; the first upload's are not among the new ones.
        put(lab, "batch_2_masks.tar.gz", truncated_tar(lab, "b.tgz"))
        assert len(smtp.wait_for(4, 60)) == 4
        wait_for(lambda: notify_outbox.count_by_state(lab.work)["sent"] == 4, 60, "all sent")
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == [
        "Carga batch_1_masks.tar.gz: no se puede leer",
        "Carga batch_2_masks.tar.gz: no se puede leer",
        "Upload batch_1_masks.tar.gz: cannot be read",
        "Upload batch_2_masks.tar.gz: cannot be read",
    ]


def test_a_scan_leaves_a_fresh_live_receipt_to_the_live_sync_and_clears_old_ones(lab):
    """The timer's scan does not tell a receipt the live sync made a moment ago (its content
    check may add to it); the live sync's own call does; the receipt of an upload of long ago
    is cleared unsent."""
    lab.batch(1, 3)
    lab.batch(2, 3)
    first = put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
    second = put(lab, "batch_2_masks.tar.gz", truncated_tar(lab, "b.tgz"))
    sync.run_sync(lab)
    now = datetime.now(timezone.utc)
    lab.work.receipts.update_one({"_id": first}, {"$set": {"made_by": "live sync"}})
    old = (now - timedelta(days=30)).replace(tzinfo=None)
    lab.work.receipts.update_one({"_id": second}, {"$set": {"upload_date": old}})
    assert notify_due.enqueue_stored_receipts(lab, now=now) == 0
    assert lab.work.receipts.find_one({"_id": second}).get(NOTIFY_DUE) is None
    assert lab.work.receipts.find_one({"_id": first})[NOTIFY_DUE] is True
    assert notify_due.enqueue_stored_receipts(lab, [first], now=now) == 2
    assert notify_due.enqueue_stored_receipts(lab, [first], now=now) == 0
    later = now + timedelta(seconds=notify_due.SETTLE_S + 1)
    lab.work.receipts.update_one({"_id": first}, {"$set": {NOTIFY_DUE: True}})
    assert notify_due.enqueue_stored_receipts(lab, now=later) == 0  # keys taken: once only
    assert len(notify_outbox.list_messages(lab.work)) == 2


def test_two_send_due_processes_at_once_send_each_receipt_once(lab, env, smtp, cli_env):
    """Two timers firing together over the same new receipts: one message per recipient."""
    import sys

    from tests.helpers import ROOT

    for number in (1, 2, 3):
        lab.batch(number, 3)
        put(lab, f"batch_{number}_masks.tar.gz", truncated_tar(lab, f"{number}.tgz"))
    sync.run_sync(lab)
    command = [sys.executable, "-m", "segcore", "notify", "--send-due"]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        run.wait(120)
        assert run.returncode == 0, run.stderr.read()
    assert len(smtp.messages) == 6
    assert len({(m["To"], m["Subject"]) for m in smtp.messages}) == 6


def test_a_restore_never_sends_again_what_was_sent_after_the_backup(lab, env, smtp, run_cli):
    """The nightly backup, then an upload's problem notice and the day's digests went out.
    Restoring the backup rolled the outbox back, and the next sync and `notify --send-due` sent
    every one of them again, same Message-ID."""
    for number in (1, 2):
        lab.batch(number, 3)
    lab.work.batches.update_one({"id": "batch_2"}, {"$set": {"metadata.due_date": "2000-01-03"}})
    env = {**env, "NOTIFY_DAILY": "on", "NOTIFY_WEEKLY": "on", "NOTIFY_HOUR": "0"}
    nightly = str(lab.tmp / "nightly.jsonl.gz")
    assert run_cli("sync", env=env).returncode == 0
    assert run_cli("backup", "--out", nightly, env=env).returncode == 0
    put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
    assert run_cli("sync", env=env).returncode == 0
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    sent = sorted((m["To"], m["Subject"], m["Message-ID"]) for m in smtp.messages)
    kinds = sorted(m["kind"] for m in notify_outbox.list_messages(lab.work))
    assert kinds == ["daily", "receipt", "receipt", "weekly"], sent

    restored = run_cli("restore", nightly, "--replace", "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    assert run_cli("sync", env=env).returncode == 0
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    assert sorted((m["To"], m["Subject"], m["Message-ID"]) for m in smtp.messages) == sent
    assert notify_outbox.count_by_state(lab.work)["sent"] == 4
    assert "outbox was kept (4 messages)" in restored.stdout


def test_a_restore_into_a_new_database_keeps_the_backups_unsent_messages(
    lab, env, smtp, run_cli, client
):
    """The outbox is kept rather than restored: a new database, which has none, still gets the
    backup's messages, and one the mail server had not taken yet is sent from there."""
    lab.batch(1, 3)
    put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
    assert run_cli("sync", env=env).returncode == 0
    smtp.behaviour.refuse = "451 try again later"
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    assert notify_outbox.count_by_state(lab.work)["pending"] == 2
    backup_file = str(lab.tmp / "b.jsonl.gz")
    assert run_cli("backup", "--out", backup_file, env=env).returncode == 0
    fresh = {**env, "MONGO_DB": f"{lab.work.name}_fresh"}
    try:
        restored = run_cli("restore", backup_file, env=fresh)
        assert restored.returncode == 0, restored.stderr
        assert "2 messages of the backup it lacked were added" in restored.stdout
        smtp.behaviour.refuse = None
        assert run_cli("notify", "--retry", env=fresh).returncode == 0
        assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == [
            "ana@example.org",
            "flor@example.org",
        ]
    finally:
        client.drop_database(fresh["MONGO_DB"])


def test_a_fresh_live_receipt_alone_does_not_stop_the_timer_sending(lab, env, smtp, run_cli):
    """With only a receipt the live sync made a moment ago (left to it for 2 minutes), `notify
    --test` and `--send-due` still send what is due and leave that receipt to the live sync."""
    lab.batch(1, 3)
    first = put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
    sync.run_sync(lab)
    lab.work.receipts.update_one(
        {"_id": first}, {"$set": {"made_by": "live sync", "made_at": datetime.now(timezone.utc)}}
    )
    done = run_cli("notify", "--test", env=env)
    assert done.returncode == 0, done.stderr
    assert run_cli("notify", "--send-due", env=env).returncode == 0
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["ana@example.org"]
    assert lab.work.receipts.find_one({"_id": first})[NOTIFY_DUE] is True


def test_sigterm_lets_the_live_sync_finish_the_message_being_sent(lab, env, smtp, tmp_path):
    """SIGTERM while the mail server is still taking a message: the watcher waits for its
    answer and records it as sent (no second copy after the lease), says it is waiting, and
    starts no other message."""
    lab.batch(1, 3)
    sync.run_sync(lab)
    smtp.behaviour.delay = 2  # the server answers the message's DATA 2 s after taking it
    log = tmp_path / "live.log"
    with watcher({**env, "NOTIFY_TIMEOUT_S": "5"}, log) as process:
        put(lab, "batch_1_masks.tar.gz", truncated_tar(lab, "a.tgz"))
        wait_for(lambda: notify_outbox.count_by_state(lab.work).get("sending") == 1, 60, "a send")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    states = notify_outbox.count_by_state(lab.work)
    assert states.get("sent") == 1 and not states.get("sending"), states
    assert len(smtp.messages) == 1
    assert "waiting up to 15 s for the notification being sent" in log.read_text()


def test_a_receipt_names_the_offices_day_of_the_upload_not_utcs(lab, env, smtp, run_cli):
    """The office is in Mexico City: an upload at 03:00 UTC on Dec 7 was made at 21:00 on Dec
    6 there, as `segcore receipts` says, and so do the uploader's and the coordinator's
    messages, each in their language."""
    lab.batch(1, 3)
    upload_id = put(lab, "batch_1.zip", real_archive(lab.tmp, "zip", masks(3, skip=(2,)), "a.zip"))
    files = lab.training[f"{lab.settings.masks_bucket}.files"]
    files.update_one({"_id": upload_id}, {"$set": {"uploadDate": datetime(2026, 12, 7, 3, 0)}})
    office = {**env, "TIMEZONE": "America/Mexico_City"}
    assert run_cli("sync", env=office).returncode == 0
    assert "2026-12-06 21:00" in run_cli("receipts", env=office).stdout
    assert run_cli("notify", "--send-due", env=office).returncode == 0
    mail = by_recipient(smtp)
    [ana], [flor] = mail["ana@example.org"], mail["flor@example.org"]
    assert "(batch batch_1, by flor, Dec 6, 2026) has a problem" in body(ana)
    assert "6 dic 2026" in body(flor) and "7 dic 2026" not in body(flor)
