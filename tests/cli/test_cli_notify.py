"""`segcore notify` and `segcore report --language/--format` as cron and a coordinator run them,
against real loopback servers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from segcore.notify import notify_outbox
from segcore.notify.notify_outbox import Message
from tests.pace_seed import seed_pace


def _mail_env(smtp) -> dict:
    return {
        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "NOTIFY_FROM": "dash@example.org",
        "NOTIFY_COORDINATORS": "Ana <ana@example.org>",
        "NOTIFY_HOUR": "0",
    }


def test_list_on_an_empty_outbox_and_one_clear_error_without_a_channel(run_cli, db):
    out = run_cli("notify", "--list")
    assert out.returncode == 0 and out.stdout.strip() == "The outbox is empty."
    assert json.loads(run_cli("notify", "--list", "--json").stdout) == []
    none = run_cli("notify", "--send-due")
    assert none.returncode == 1 and "no channel configured" in none.stderr
    assert none.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "env, named",
    [
        ({"SMTP_URL": "smtps://dash:Hunter2Secret@mail.example.org:465"}, "NOTIFY_FROM"),
        ({"SMTP_URL": "http://dash:Hunter2Secret@mail.example.org"}, "SMTP_URL"),
        (
            {
                "SMTP_URL": "smtp://dash:Hunter2Secret@mail.example.org:99999",
                "NOTIFY_FROM": "a@b.org",
            },
            "SMTP_URL",
        ),
        (
            {"SMTP_URL": "smtp://dash:Hunter2/Secret@mail.example.org", "NOTIFY_FROM": "a@b.org"},
            "percent-encoded",
        ),
        (
            {"SMTP_URL": "smtp://dash:Hunter2@Secret@mail.example.org", "NOTIFY_FROM": "a@b.org"},
            "percent-encoded",
        ),
        ({"WEBHOOK_URL": "ftp://hooks.example.org/Hunter2Secret"}, "WEBHOOK_URL"),
        (
            {"WEBHOOK_URL": "https://hooks.example.org/x", "WEBHOOK_FORMAT": "discord"},
            "WEBHOOK_FORMAT",
        ),
        ({"NOTIFY_COORDINATORS": "Ana <not an address>"}, "NOTIFY_COORDINATORS"),
        ({"NOTIFY_DAILY": "sometimes"}, "NOTIFY_DAILY"),
    ],
)
def test_a_bad_setting_is_named_at_start_and_its_secret_never_shown(run_cli, db, env, named):
    out = run_cli("notify", "--list", env=env)
    assert out.returncode == 1 and named in out.stderr and out.stderr.count("\n") == 1
    assert "Hunter2" not in out.stderr + out.stdout and "Secret" not in out.stderr


# urlsplit reads "[...]" before the host as an IPv6 address and quotes it in its error: a
# password with brackets (or one of them) must be named, never quoted by a traceback.
@pytest.mark.parametrize(
    "env",
    [
        {"SMTP_URL": "smtps://dashboard:Xy[Hunter2Secret]z@mail.example.org:465"},
        {"SMTP_URL": "smtps://dashboard:Xy[Hunter2Secret@mail.example.org:465"},
        {"SMTP_URL": "smtp://dashboard:Hunter2Secret]@mail.example.org:587"},
        {"WEBHOOK_URL": "https://hook:Xy[Hunter2Secret]z@hooks.example.org/T0ken"},
        {"WEBHOOK_URL": "https://hook:Hunter2Secret]@hooks.example.org/T0ken"},
    ],
)
def test_brackets_in_a_password_are_asked_percent_encoded_never_quoted(run_cli, db, env):
    out = run_cli("notify", "--list", env={"NOTIFY_FROM": "a@b.org", **env})
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert next(iter(env)) in out.stderr and "'[' or ']'" in out.stderr
    assert "percent-encoded" in out.stderr and "%5B" in out.stderr
    assert "Hunter2" not in out.stderr + out.stdout and "Traceback" not in out.stderr


def test_brackets_percent_encoded_in_the_password_are_accepted(run_cli, db):
    env = {
        "SMTP_URL": "smtps://dashboard:Xy%5BHunter2Secret%5Dz@mail.example.org:465",
        "NOTIFY_FROM": "a@b.org",
    }
    out = run_cli("notify", "--list", env=env)
    assert out.returncode == 0 and out.stdout.strip() == "The outbox is empty.", out.stderr


def test_test_message_reaches_the_webhook_and_the_list_shows_it_sent(run_cli, db, hook):
    env = {"WEBHOOK_URL": hook.url, "WEBHOOK_FORMAT": "slack", "LANGUAGE": "es"}
    out = run_cli("notify", "--test", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 sent, 0 to retry later, 0 failed."
    assert (
        hook.received[0].json["text"].startswith("*Mensaje de prueba del tablero de segmentación*")
    )
    listed = json.loads(run_cli("notify", "--list", "--json", env=env).stdout)
    assert [(m["state"], m["kind"], m["to"]) for m in listed] == [("sent", "test", None)]
    assert "s3cr3tToken" not in json.dumps(listed)


@pytest.mark.parametrize(
    "answer",
    [
        "Cannot POST {path}",  # Express's default 404: the path alone, percent-decoded
        "no such hook: {query}",
        "<html><body>" + "x" * 280 + "{path}</body></html>",  # quoted across the 300-byte cut
    ],
)
def test_a_webhook_answer_quoting_its_path_never_shows_the_token(run_cli, db, hook, answer):
    """The token reached `notify --list`, the outbox and the Notifications page whenever the
    answer quoted the path without the query, or decoded, not the path and query together."""
    base = hook.url.rsplit("/hooks/", 1)[0]
    env = {"WEBHOOK_URL": f"{base}/hooks/T000/s3cr3t%7ETok3n?key=Qu3ryS3cr3t&format=json"}
    hook.behaviour.refuse, hook.behaviour.answer = "404", answer
    out = run_cli("notify", "--test", env=env)
    assert out.returncode == 1 and "1 failed" in out.stdout, out.stderr  # a test: not retried
    listed = run_cli("notify", "--list", env=env).stdout
    as_json = run_cli("notify", "--list", "--json", env=env).stdout
    assert "127.0.0.1: HTTP 404" in listed and "***" in listed
    for said in (listed, as_json, str(list(db[notify_outbox.OUTBOX].find()))):
        assert "Tok3n" not in said and "Qu3ryS3cr3t" not in said and "s3cr3t" not in said


def test_an_answer_stored_with_the_token_by_an_earlier_version_is_listed_without_it(run_cli, db):
    """Stored before the answers were scrubbed of the path alone: hidden as listed."""
    env = {"WEBHOOK_URL": "https://hooks.example.org/hooks/T0kenS3cretPathPart?format=json"}
    notify_outbox.enqueue(
        db, [Message("test:1:webhook", "test", "webhook", None, "", "en", "Hi", "")]
    )
    answer = "hooks.example.org: HTTP 404 Cannot POST /hooks/T0kenS3cretPathPart"
    db[notify_outbox.OUTBOX].update_one(
        {"_id": "test:1:webhook"},
        {"$set": {"state": "failed", "answer": answer, "errors": [{"answer": answer}]}},
    )
    listed = run_cli("notify", "--list", env=env).stdout
    as_json = json.loads(run_cli("notify", "--list", "--json", env=env).stdout)
    assert "attempt 0: hooks.example.org: HTTP 404 Cannot POST ***" in listed
    assert as_json[0]["answer"] == "hooks.example.org: HTTP 404 Cannot POST ***"
    assert "T0ken" not in json.dumps(as_json)


def test_coordinators_pasted_from_outlook_are_all_written_to(run_cli, db, smtp):
    """`ana@example.org; luis@example.org` (Outlook's To: field) kept Ana only, without a word."""
    env = {
        **_mail_env(smtp),
        "NOTIFY_COORDINATORS": '"Pérez, Ana" <ana@example.org>; luis@example.org',
    }
    out = run_cli("notify", "--test", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2 sent, 0 to retry later, 0 failed."
    assert sorted(m["To"] for m in smtp.wait_for(2)) == [
        '"Pérez, Ana" <ana@example.org>',
        "luis <luis@example.org>",
    ]


def test_two_senders_started_at_once_send_each_message_once(run_cli, cli_env, db, smtp, tmp_path):
    messages = [
        Message(
            f"receipt:r{n}:ana@example.org",
            "receipt",
            "email",
            "ana@example.org",
            "Ana",
            "en",
            f"Upload {n}",
            "text",
        )
        for n in range(30)
    ]
    assert notify_outbox.enqueue(db, messages) == 30
    env = {**cli_env, **_mail_env(smtp), "NOTIFY_DAILY": "off", "NOTIFY_WEEKLY": "off"}
    senders = [
        subprocess.Popen(
            [sys.executable, "-m", "segcore", "notify", "--send-due"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [s.communicate(timeout=180) for s in senders]
    assert all(s.returncode == 0 for s in senders), outputs
    assert len(smtp.wait_for(30)) == 30
    assert len({m["Message-ID"] for m in smtp.messages}) == 30
    assert notify_outbox.count_by_state(db)["sent"] == 30


def test_send_due_sends_the_daily_and_weekly_once_and_retry_brings_back_a_failure(
    run_cli, db, smtp
):
    seed_pace(db)
    env = _mail_env(smtp)
    first = run_cli("notify", "--send-due", env=env)
    assert first.returncode == 0, first.stderr
    kinds = sorted(m["kind"] for m in notify_outbox.list_messages(db))
    assert kinds == ["daily", "weekly"]
    assert run_cli("notify", "--send-due", env=env).stdout.startswith("0 sent")
    subjects = sorted(m["Subject"] for m in smtp.wait_for(2))
    assert subjects[0].startswith("Alertas de segmentación") and "detenidos 1" in subjects[0]
    assert subjects[1].startswith("Informe semanal de segmentación")
    smtp.stop()
    db[notify_outbox.OUTBOX].update_many({}, {"$set": {"state": "failed", "answer": "550 earlier"}})
    down = run_cli("notify", "--retry", env=env)
    # The server did not answer the first: the other waits for the next pass untried.
    assert down.returncode == 0 and "0 sent, 1 to retry later" in down.stdout
    text = run_cli("notify", "--list", env=env).stdout
    assert "Connection refused" in text and text.count("pending") == 2
    assert notify_outbox.count_by_state(db)["failed"] == 0


def test_report_in_spanish_as_html_has_the_same_figures(run_cli, db, tmp_path):
    seed_pace(db)
    out = run_cli(
        "report", "--language", "es", "--format", "html", "--out", str(tmp_path / "week.html")
    )
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "week.html").read_text()
    assert page.startswith('<!DOCTYPE html><html lang="es">')
    assert "Informe semanal de segmentación" in page and "@media print" in page
    assert (
        "Lotes: 39 en total, 38 asignados, 31 subidos, 31 entregados y utilizables, "
        "8 sin máscaras (79.5% entregado)" in page
    )
    assert "<td>Zoe</td>" in page and "ya no está en el equipo" in page
    english = run_cli("report", "--language", "en").stdout
    assert (
        "- Batches: 39 in total, 38 assigned, 31 uploaded, 31 delivered and usable, "
        "8 without masks (79.5% delivered)" in english
    )
    # The same rule as the Dashboard's burn-down.
    from segcore.core.translations import Words
    from segcore.report.alerts import current_alerts, report_rows
    from segcore.report.progress import burndown

    today = current_alerts(db).today
    finish = burndown(report_rows(db), today, today, today).projected_finish
    assert finish is not None
    day = Words("en").day(finish)  # "Dec 5, 2026": as every date the report gives
    assert f"- Projected finish of every batch at the pace of the last 14 days: {day}" in english


def test_the_live_sync_sends_due_messages_itself(cli_env, db, smtp, tmp_path):
    import signal
    import time

    notify_outbox.enqueue(
        db,
        [
            Message(
                "receipt:r1:ana@example.org",
                "receipt",
                "email",
                "ana@example.org",
                "Ana",
                "en",
                "Upload 1",
                "text",
            )
        ],
    )
    log = tmp_path / "live.log"
    env = {**cli_env, **_mail_env(smtp), "NOTIFY_DAILY": "off", "NOTIFY_WEEKLY": "off"}
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "segcore", "sync", "--watch"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        assert [m["Subject"] for m in smtp.wait_for(1, timeout=90)] == ["Upload 1"]
        deadline = time.monotonic() + 60
        while "notifications: 1 sent" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "notifications: 1 sent, 0 to retry later, 0 failed" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log.read_text()
    assert notify_outbox.count_by_state(db)["sent"] == 1


def test_the_list_shows_each_message_on_one_line_whatever_its_subject_holds(run_cli, db):
    odd = Message(
        "receipt:r-odd:ana@example.org",
        "receipt",
        "email",
        "ana@example.org",
        "Ana",
        "en",
        "Upload batch_1_masks\n.zip: cannot be read",  # a file name with a line break
        "text",
    )
    assert notify_outbox.enqueue(db, [odd]) == 1
    listed = run_cli("notify", "--list")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["state", "when", "kind", "to", "subject"]
    assert len(lines) == 1 and "batch_1_masks\\n.zip" in lines[0]


def test_the_list_shows_when_a_failed_message_failed_not_a_retry_it_will_never_get(run_cli, db):
    """A message failed for good at 06:16 was listed at 06:18, its would-be next attempt."""
    from datetime import datetime, timedelta

    failed_at = datetime(2026, 12, 7, 6, 16)
    message = Message("receipt:r-1:flor", "receipt", "email", "flor@x.org", "Flor", "en", "S", "x")
    notify_outbox.enqueue(db, [message], now=failed_at - timedelta(minutes=5))
    doc = notify_outbox.claim(db, "me", message.key, now=failed_at)
    notify_outbox.mark_failed(db, doc, "not sent: Flor is no longer on the team", failed_at, True)
    stored = db[notify_outbox.OUTBOX].find_one({"_id": message.key})
    assert stored["state"] == "failed" and stored["due_at"] == failed_at
    # as an older version left it: its due time in the future
    db[notify_outbox.OUTBOX].update_one(
        {"_id": message.key}, {"$set": {"due_at": failed_at + timedelta(minutes=2)}}
    )
    listed = run_cli("notify", "--list", env={"TIMEZONE": "UTC"})
    assert listed.returncode == 0, listed.stderr
    assert "failed   2026-12-07 06:16" in listed.stdout and "06:18" not in listed.stdout


def test_the_list_shows_the_offices_time_as_every_other_listing(run_cli, db):
    """`notify --list` printed the stored UTC time, unlabelled: 02:15 for a message of 20:15 in
    Mexico City, where `receipts`, `history` and the Notifications page say 20:15."""
    from datetime import datetime

    message = Message("test:zone", "test", "email", "ana@example.org", "Ana", "en", "Hi", "x")
    notify_outbox.enqueue(db, [message], now=datetime(2026, 12, 7, 2, 15))
    listed = run_cli("notify", "--list", env={"TIMEZONE": "America/Mexico_City"})
    assert listed.returncode == 0, listed.stderr
    assert "2026-12-06 20:15" in listed.stdout and "02:15" not in listed.stdout, listed.stdout


def _foreign(key: str, **fields) -> dict:
    """An outbox document as another tool or an older version may leave it."""
    now = notify_outbox.utc()
    doc = {"_id": key, "kind": "note", "channel": "email", "to": "luis@example.org"}
    return {**doc, "text": "Please check batch_7", "created_at": now, "due_at": now, **fields}


def test_messages_another_tool_stored_incomplete_are_listed_and_stop_no_sending(run_cli, db, smtp):
    """A message without a subject broke `notify --list` with a KeyError traceback; one without
    a text or an address stopped the sending of every other."""
    outbox = db[notify_outbox.OUTBOX]
    outbox.insert_many(
        [
            {k: v for k, v in _foreign("manual:1", state="sent").items() if k != "subject"},
            {
                k: v
                for k, v in _foreign("manual:2", state=None, subject="Hi").items()
                if k != "kind"
            },
            _foreign("manual:3", state="pending", subject="No text", text=None),
            _foreign("manual:4", state="pending", subject="Nowhere", to=None),
            _foreign("manual:5", state="pending", subject="Batch 7", attempts=None),
        ]
    )
    listed = run_cli("notify", "--list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    lines = listed.stdout.splitlines()[1:]  # under the header
    assert len(lines) == 5
    assert any(line.startswith("sent ") and line.endswith(" -") for line in lines)  # no subject
    assert any(line.startswith("-  ") and " -  " in line and line.endswith(" Hi") for line in lines)
    env = {**_mail_env(smtp), "NOTIFY_DAILY": "off", "NOTIFY_WEEKLY": "off"}
    sent = run_cli("notify", "--send-due", env=env)
    assert "Traceback" not in sent.stderr, sent.stderr
    assert sent.stdout.strip() == "1 sent, 0 to retry later, 2 failed."
    assert [m["Subject"] for m in smtp.wait_for(1)] == ["Batch 7"]
    after = run_cli("notify", "--list").stdout
    assert "attempt 1: not sent: the stored message has no text" in after
    assert "attempt 1: not sent: the stored message has no address" in after
