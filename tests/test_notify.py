"""Notifications end to end: real SMTP (aiosmtpd) and a real webhook receiver on loopback,
the outbox in the real database; contents, languages, signatures, retries, exactly once."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from segcore.notify import notify_due, notify_outbox
from segcore.notify.notify_channels import SIGNATURE_HEADER, TIMESTAMP_HEADER
from segcore.prepare import prepare
from segcore.store.connection import open_databases
from segcore.team import auth, team
from tests.notify_servers import DripServer, SmtpServer

NOW = datetime(2025, 10, 15, 15, 0, tzinfo=timezone.utc)
RECEIPT = {
    "id": "r-1",
    "upload_id": "u-1",
    "filename": "batch_7_part1.zip",
    "batch_ids": ["batch_7"],
    "uploader": "flór ",
    "uploaded_at": NOW,
    "problems": {
        "unreadable": None,
        "missing": ["img_003.png", "img_009.png"],
        "missing_count": 2,
        "content": ["img_001_mask.png: empty mask"],
    },
}


@pytest.fixture
def notify_dbs(settings, client, smtp):
    """Databases whose settings send email to the loopback SMTP server, to Ana (coordinator)."""

    def make(**changes):
        options = dict(
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            notify_from="Dashboard <dashboard@example.org>",
            notify_coordinators=(("Ana", "ana@example.org"),),
            notify_timeout_s=5,
            language="es",
        )
        databases = open_databases(
            dataclasses.replace(settings, **{**options, **changes}), client=client
        )
        prepare(databases)
        return databases

    yield make
    client.drop_database(settings.mongo_db)
    client.drop_database(settings.training_db)


def _team(databases):
    team.add_member(databases.work, "Flor", email="flor@example.org")
    auth.add_user(databases.work, "Ana", "coordinator", "a long password 1")
    auth.set_language(databases.work, "Ana", "en")


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_receipt_reaches_the_uploader_and_the_coordinator_each_in_their_language(
    notify_dbs, smtp
):
    databases = notify_dbs()
    _team(databases)
    assert notify_due.enqueue_receipts(databases, [RECEIPT], NOW) == 2
    report = notify_due.send_due(databases, digests=False)
    assert len(report.sent) == 2
    mails = {m["To"].addresses[0].addr_spec: m for m in smtp.wait_for(2)}
    flor, ana = mails["flor@example.org"], mails["ana@example.org"]
    assert flor["From"].addresses[0].addr_spec == "dashboard@example.org"
    # Flor has no login: LANGUAGE (es). Ana chose English.
    assert (
        flor["Subject"] == "Carga batch_7_part1.zip: faltan máscaras, no pasa las "
        "revisiones de contenido"
    )
    assert "2 imágenes no tienen máscara:" in _body(flor) and "- img_009.png" in _body(flor)
    assert "Hola Flor:" in _body(flor)
    assert ana["Subject"] == "Upload batch_7_part1.zip: masks missing, fails the content checks"
    assert "img_001_mask.png: empty mask" in _body(ana) and "Hello Ana," in _body(ana)


def test_an_uploader_with_a_segmentador_login_gets_the_language_it_saved(notify_dbs, smtp):
    databases = notify_dbs(notify_coordinators=())
    _team(databases)
    auth.add_user(databases.work, "flor.g", "segmentador", "a long password 2", member="Flor")
    auth.set_language(databases.work, "flor.g", "en")
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    notify_due.send_due(databases, digests=False)
    [mail] = smtp.wait_for(1)
    assert mail["Subject"].startswith("Upload batch_7_part1.zip") and "Hello Flor," in _body(mail)


def test_enqueueing_again_a_restart_and_a_second_sender_never_send_twice(notify_dbs, smtp):
    databases = notify_dbs()
    _team(databases)
    receipts = [{**RECEIPT, "id": f"r-{n}"} for n in range(10)]
    assert notify_due.enqueue_receipts(databases, receipts, NOW) == 20
    assert notify_due.enqueue_receipts(databases, receipts, NOW) == 0  # a re-sync
    # Two senders at once (two app instances), each with its own connection.
    other = notify_dbs()
    threads = [
        threading.Thread(target=notify_due.send_due, args=(d,), kwargs={"digests": False})
        for d in (databases, other)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(smtp.wait_for(20)) == 20
    # A restart: a fresh process finds everything sent and sends nothing more.
    assert notify_due.send_due(notify_dbs(), digests=False).sent == []
    keys = [m["Message-ID"] for m in smtp.messages]  # one per outbox key
    assert len(set(keys)) == len(keys) == 20
    assert notify_outbox.count_by_state(databases.work)["sent"] == 20


def test_a_sender_that_died_mid_send_leaves_the_message_to_its_lease(notify_dbs, smtp):
    databases = notify_dbs()
    _team(databases)
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    now = datetime.now(timezone.utc)
    key, _channel, _state = notify_outbox.due_keys(databases.work, now)[0]
    claimed = notify_outbox.claim(databases.work, "dead-process", key, now)
    assert claimed["state"] == "sending"
    assert notify_outbox.claim(databases.work, "another", key, now) is None  # taken
    # Another sender meanwhile takes the other message only, not the claimed one.
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    later = now + timedelta(seconds=notify_outbox.LEASE_S + 1)
    report = notify_outbox.send_due(
        databases.work, notify_due.deliverer(databases.settings), lambda: later
    )
    assert report.sent == [claimed["_id"]]
    assert len(smtp.wait_for(2)) == 2


def test_a_server_down_then_back_gets_the_message_later_with_the_failure_kept(notify_dbs, smtp):
    databases = notify_dbs(notify_coordinators=())
    _team(databases)
    smtp.stop()
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    report = notify_due.send_due(databases, digests=False)
    assert report.retrying and not report.sent
    [doc] = notify_outbox.list_messages(databases.work)
    assert doc["state"] == "pending" and doc["attempts"] == 1
    assert "Connection refused" in doc["answer"] and str(smtp.port) not in doc["to"]
    # Not due again before its backoff...
    assert notify_due.send_due(databases, digests=False).sent == []
    smtp.start()
    later = datetime.now(timezone.utc) + notify_outbox.retry_delay(1) + timedelta(seconds=1)
    report = notify_outbox.send_due(
        databases.work, notify_due.deliverer(databases.settings), lambda: later
    )
    assert report.sent == [doc["key"]]
    assert smtp.wait_for(1)[0]["To"].addresses[0].addr_spec == "flor@example.org"
    sent = databases.work[notify_outbox.OUTBOX].find_one({"_id": doc["key"]})
    assert sent["state"] == "sent" and "Connection refused" in sent["errors"][0]["answer"]


def test_a_refusal_is_kept_with_the_server_answer_and_failed_after_the_last_attempt(
    notify_dbs, smtp
):
    databases = notify_dbs(notify_coordinators=())
    _team(databases)
    smtp.behaviour.refuse = "550 5.1.1 Mailbox flor unknown"
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    moment = datetime.now(timezone.utc)
    for attempt in range(notify_outbox.MAX_ATTEMPTS):
        notify_outbox.send_due(
            databases.work, notify_due.deliverer(databases.settings), lambda: moment
        )
        moment += notify_outbox.retry_delay(attempt + 1) + timedelta(seconds=1)
    [doc] = notify_outbox.list_messages(databases.work)
    assert doc["state"] == "failed" and doc["attempts"] == notify_outbox.MAX_ATTEMPTS
    assert doc["answer"] == "127.0.0.1: 550 5.1.1 Mailbox flor unknown"
    smtp.behaviour.refuse = None
    assert notify_outbox.resend(databases.work, [doc["key"]], "test") == 1
    assert notify_due.send_due(databases, digests=False).sent == [doc["key"]]


def test_a_slow_server_within_the_timeout_gets_it_a_stuck_one_fails_fast(notify_dbs, smtp):
    databases = notify_dbs(notify_coordinators=(), notify_timeout_s=2)
    _team(databases)
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    smtp.behaviour.delay = 4
    started = time.monotonic()
    report = notify_due.send_due(databases, digests=False)
    assert report.retrying and time.monotonic() - started < 15
    [doc] = notify_outbox.list_messages(databases.work)
    assert "timed out" in doc["answer"]
    smtp.behaviour.delay = 0.5
    notify_outbox.retry_waiting(databases.work, "test")
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["flor@example.org"]


def test_a_mask_check_is_never_held_up_by_a_mail_server_that_does_not_answer(notify_dbs, upload):
    """The sync's and the check's part is to enqueue; a stuck server costs them nothing."""
    with socket_that_never_answers() as port:
        databases = notify_dbs(smtp_url=f"smtp://127.0.0.1:{port}", notify_timeout_s=30)
        _team(databases)
        databases.work["batches"].insert_one({"id": "batch_7", "assignee": "Flor"})
        upload_file(databases, "batch_7_broken.zip", b"PK\x03\x04 not really a zip")
        started = time.monotonic()
        report = notify_due.verify_and_notify(databases, author="test")
        assert time.monotonic() - started < 20 and report.checked_uploads == 1
    [flor] = [
        m for m in notify_outbox.list_messages(databases.work) if m["to"] == "flor@example.org"
    ]
    assert flor["state"] == "pending" and "batch_7_broken.zip" in flor["subject"]
    assert "no se puede leer" in flor["text"].lower()


class socket_that_never_answers:
    """A TCP port that accepts connections and never says a word (a hung mail server)."""

    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


def upload_file(databases, filename: str, data: bytes, uploader: str = "flor"):
    import gridfs

    bucket = gridfs.GridFSBucket(databases.training, bucket_name=databases.settings.masks_bucket)
    return bucket.upload_from_stream(filename, data, metadata={"uploaded_by": uploader})


def test_re_checking_the_same_upload_does_not_send_its_receipt_again(notify_dbs, smtp):
    databases = notify_dbs()
    _team(databases)
    databases.work["batches"].insert_one({"id": "batch_7", "assignee": "Flor"})
    upload_file(databases, "batch_7.tar.gz", b"\x1f\x8b\x08 truncated")
    notify_due.verify_and_notify(databases, author="test")
    notify_due.verify_and_notify(databases, author="test", recheck=True)
    assert len(notify_outbox.list_messages(databases.work)) == 2  # Flor and Ana, once each
    assert len(notify_due.send_due(databases, digests=False).sent) == 2


def test_an_excluded_person_and_a_switched_off_kind_get_nothing(notify_dbs):
    databases = notify_dbs(notify_exclude=("FLOR",))
    _team(databases)
    assert notify_due.enqueue_receipts(databases, [RECEIPT], NOW) == 1
    off = notify_dbs(notify_receipts=False)
    assert notify_due.enqueue_receipts(off, [{**RECEIPT, "id": "r-2"}], NOW) == 0
    usable = {**RECEIPT, "id": "r-3", "problems": {"missing": [], "content": []}}
    assert notify_due.enqueue_receipts(databases, [usable], NOW) == 0


def test_uploads_whose_ids_differ_only_in_type_each_get_their_receipt(notify_dbs):
    from bson import ObjectId

    databases = notify_dbs()
    oid = ObjectId()
    ids = [999, "999", oid, str(oid)]
    found = [
        {**RECEIPT, "id": i, "upload_id": i, "filename": f"batch_{n}.zip"}
        for n, i in enumerate(ids)
    ]
    assert notify_due.enqueue_receipts(databases, found, NOW) == 4  # one each, to Ana
    assert notify_due.enqueue_receipts(databases, found, NOW) == 0  # and once
    keys = {m["key"] for m in notify_outbox.list_messages(databases.work)}
    assert keys == {
        "receipt:int:999:ana@example.org",
        "receipt:str:999:ana@example.org",
        f"receipt:ObjectId:{oid}:ana@example.org",
        f"receipt:str:{oid}:ana@example.org",
    }


def test_a_receipt_an_earlier_version_enqueued_is_not_enqueued_again(notify_dbs):
    databases = notify_dbs()
    # stored by a version that keyed receipts by the id's text alone (no key_form)
    databases.work["notify_outbox"].insert_one(
        {"_id": "receipt:999:ana@example.org", "kind": "receipt", "state": "sent"}
    )
    again = [{**RECEIPT, "id": 999}, {**RECEIPT, "id": "999"}]
    assert notify_due.enqueue_receipts(databases, again, NOW) == 0
    assert notify_due.enqueue_receipts(databases, [{**RECEIPT, "id": 998}], NOW) == 1


def test_the_json_webhook_is_signed_and_slack_and_teams_get_their_shapes(notify_dbs, hook):
    databases = notify_dbs(
        smtp_url=None, webhook_url=hook.url, webhook_secret="hunter2", language="en"
    )
    _team(databases)
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    [got] = hook.received
    stamp, body = got.headers[TIMESTAMP_HEADER], got.body
    expected = hmac.new(b"hunter2", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert got.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert got.json["kind"] == "receipt" and got.json["data"]["problems"] == [
        "incomplete",
        "content",
    ]
    assert got.headers["Idempotency-Key"] == "receipt:str:r-1:webhook"
    assert got.json["text"].startswith("The upload batch_7_part1.zip")  # no "Hello webhook"
    for fmt, check in (
        ("slack", lambda j: j["text"].startswith("*Upload batch_7_part1.zip")),
        ("teams", lambda j: j["attachments"][0]["content"]["type"] == "AdaptiveCard"),
    ):
        other = notify_dbs(smtp_url=None, webhook_url=hook.url, webhook_format=fmt, language="en")
        notify_due.enqueue_receipts(other, [{**RECEIPT, "id": f"r-{fmt}"}], NOW)
        notify_due.send_due(other, digests=False)
        assert check(hook.received[-1].json)
        assert SIGNATURE_HEADER not in hook.received[-1].headers


def test_a_webhook_that_refuses_or_hangs_is_retried_and_its_token_never_shown(notify_dbs, hook):
    databases = notify_dbs(smtp_url=None, webhook_url=hook.url, notify_timeout_s=1)
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    hook.behaviour.refuse = "404"
    notify_due.send_due(databases, digests=False)
    [doc] = notify_outbox.list_messages(databases.work)
    assert doc["answer"] == "127.0.0.1: HTTP 404 channel_not_found"
    hook.behaviour.refuse, hook.behaviour.delay = None, 3
    notify_outbox.retry_waiting(databases.work, "test")
    notify_due.send_due(databases, digests=False)
    [doc] = notify_outbox.list_messages(databases.work)
    assert "timed out" in doc["answer"] and "s3cr3tToken" not in doc["answer"]
    hook.behaviour.delay = 0
    notify_outbox.retry_waiting(databases.work, "test")
    assert len(notify_due.send_due(databases, digests=False).sent) == 1


def test_starttls_with_a_password_and_a_wrong_password_never_shown(
    notify_dbs, tmp_path, monkeypatch
):
    import ssl

    from tests.servers import make_certificates

    paths = make_certificates(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert"], paths["key"])
    monkeypatch.setenv("SSL_CERT_FILE", str(paths["ca"]))  # the office's own CA
    server = SmtpServer(tls_context=context, users={"dash": "p@ss word"}).start()
    try:
        url = f"smtp://dash:p%40ss%20word@127.0.0.1:{server.port}"
        databases = notify_dbs(smtp_url=url, notify_coordinators=(("Ana", "ana@example.org"),))
        notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
        assert len(notify_due.send_due(databases, digests=False).sent) == 1
        assert server.wait_for(1)[0]["Subject"].startswith("Carga batch_7_part1.zip")
        wrong = notify_dbs(smtp_url=f"smtp://dash:WrongSecret9@127.0.0.1:{server.port}")
        notify_due.enqueue_receipts(wrong, [{**RECEIPT, "id": "r-9"}], NOW)
        notify_due.send_due(wrong, digests=False)
        [doc] = [m for m in notify_outbox.list_messages(wrong.work) if m["state"] != "sent"]
        assert doc["answer"].startswith("127.0.0.1: login refused: 535")
        assert "WrongSecret9" not in doc["answer"]
    finally:
        server.stop()


def test_a_password_with_a_letter_outside_ascii_logs_in(notify_dbs, tmp_path, monkeypatch):
    """`contraseña` never logged in (smtplib encodes logins as ASCII) and the outbox blamed the
    coordinator's address; AUTH PLAIN and LOGIN carry UTF-8."""
    import ssl

    from tests.servers import make_certificates

    paths = make_certificates(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert"], paths["key"])
    monkeypatch.setenv("SSL_CERT_FILE", str(paths["ca"]))
    server = SmtpServer(tls_context=context, users={"dash": "contraseña-2026"}).start()
    try:
        url = f"smtp://dash:contrase%C3%B1a-2026@127.0.0.1:{server.port}"
        databases = notify_dbs(smtp_url=url)
        assert notify_due.enqueue_test(databases, NOW) == 1
        report = notify_due.send_due(databases, digests=False)
        assert len(report.sent) == 1, notify_outbox.list_messages(databases.work)
        assert server.logins == 1 and len(server.wait_for(1)) == 1
        wrong = notify_dbs(smtp_url=f"smtp://dash:contrase%C3%B1a-2025@127.0.0.1:{server.port}")
        notify_due.enqueue_test(wrong, NOW + timedelta(seconds=1))
        notify_due.send_due(wrong, digests=False)
        [doc] = [m for m in notify_outbox.list_messages(wrong.work) if m["state"] != "sent"]
        assert doc["answer"].startswith("127.0.0.1: login refused: 535")
        assert "ana@example.org" not in doc["answer"]
    finally:
        server.stop()


def test_a_password_is_not_sent_to_a_server_without_starttls(notify_dbs, smtp):
    databases = notify_dbs(smtp_url=f"smtp://dash:Secret42@127.0.0.1:{smtp.port}")
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    notify_due.send_due(databases, digests=False)
    [doc] = notify_outbox.list_messages(databases.work)
    assert "does not offer STARTTLS" in doc["answer"] and "Secret42" not in doc["answer"]
    assert smtp.messages == []


def test_nothing_configured_enqueues_nothing(settings, dbs):
    assert notify_due.enqueue_receipts(dbs, [RECEIPT], NOW) == 0
    assert notify_due.enqueue_daily(dbs, NOW) == 0 and notify_due.enqueue_weekly(dbs, NOW) == 0


def test_the_live_syncs_sender_thread_sends_what_is_enqueued(notify_dbs, smtp):
    databases = notify_dbs(notify_daily=False, notify_weekly=False)
    _team(databases)
    sender = notify_due.Sender(databases, interval=0.2)
    sender.start()
    try:
        notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
        assert len(smtp.wait_for(2)) == 2
    finally:
        sender.stop()
        sender.join(30)
    assert not sender.is_alive() and sender.last_error is None


def test_a_hung_server_costs_one_timeout_per_pass_not_one_per_message(notify_dbs):
    with socket_that_never_answers() as port:
        databases = notify_dbs(smtp_url=f"smtp://127.0.0.1:{port}", notify_timeout_s=1)
        _team(databases)
        notify_due.enqueue_receipts(
            databases, [{**RECEIPT, "id": f"r-{n}"} for n in range(10)], NOW
        )
        started = time.monotonic()
        report = notify_due.send_due(databases, digests=False)
        assert time.monotonic() - started < 20  # one 1 s timeout, not twenty
    assert len(report.retrying) == 1 and not report.sent
    messages = notify_outbox.list_messages(databases.work)
    assert sorted(m["attempts"] for m in messages) == [0] * 19 + [1]
    assert all(m["state"] == "pending" for m in messages)


@pytest.mark.parametrize(
    "channel, answer",
    [
        ("smtp", b"220 slow.example ESMTP ready and very slow today\r\n"),
        ("http", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"),
    ],
)
def test_a_server_dripping_its_answer_is_given_up_on_after_the_timeout(notify_dbs, channel, answer):
    """NOTIFY_TIMEOUT_S bounds a whole answer: a server sending a byte every 0.6 s (30 s for
    its answer) costs one timeout, not one per message, and is not tried again in the pass."""
    server = DripServer(answer, 0.6)  # cut after "22": no reply yet, whatever it parses as
    try:
        url = f"{'smtp' if channel == 'smtp' else 'http'}://127.0.0.1:{server.port}/hook"
        where = {"smtp_url": url} if channel == "smtp" else {"smtp_url": None, "webhook_url": url}
        databases = notify_dbs(**where, notify_timeout_s=1, language="en")
        _team(databases)
        notify_due.enqueue_test(databases, NOW)
        notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
        started = time.monotonic()
        report = notify_due.send_due(databases, digests=False)
        assert time.monotonic() - started < 4
        assert len(report.retrying) == 1 and not report.sent  # the others wait for the next pass
        assert server.connections == 1
        answers = {d.get("answer") for d in notify_outbox.list_messages(databases.work)}
        assert any(a and a.endswith("timed out") for a in answers), answers
    finally:
        server.stop()


@pytest.mark.parametrize("change", ["removed", "excluded"])
def test_a_message_waiting_for_a_retry_never_goes_to_someone_no_longer_written_to(
    notify_dbs, smtp, change
):
    """The mail server was down when Flor's receipt was due; meanwhile she left the team (or
    NOTIFY_EXCLUDE named her). When the server is back the coordinator's copy goes, hers not,
    and the outbox says why."""
    from segcore.work.handover import remove_member

    databases = notify_dbs()
    _team(databases)
    smtp.stop()
    notify_due.enqueue_receipts(databases, [RECEIPT], NOW)
    assert notify_due.send_due(databases, digests=False).retrying  # both wait for the server
    if change == "removed":
        remove_member(databases.work, "Flor", unassign=True, author="cli")
    else:
        databases = notify_dbs(notify_exclude=("flor@example.org",))
    smtp.start()
    notify_outbox.retry_waiting(databases.work, "cli")
    report = notify_due.send_due(databases, digests=False)
    assert len(report.sent) == 1 and len(report.failed) == 1
    [mail] = smtp.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == "ana@example.org"
    by_address = {m["to"]: m for m in notify_outbox.list_messages(databases.work)}
    flor = by_address["flor@example.org"]
    assert flor["state"] == "failed" and flor["answer"].startswith("not sent: ")
    assert ("no longer on the team" if change == "removed" else "NOTIFY_EXCLUDE") in flor["answer"]


def test_of_legacy_duplicates_each_gets_the_language_of_their_own_login(notify_dbs, smtp):
    """José and Jose share a name's key; only Jose's login chose English. José's receipt
    follows LANGUAGE (Spanish), not the other one's choice."""
    databases = notify_dbs(notify_coordinators=())
    databases.work.segmentadores.insert_many(
        [
            {"name": "José", "role": "Segmentador", "email": "jose.a@example.org"},
            {"name": "Jose", "role": "Segmentador", "email": "jose.b@example.org"},
        ]
    )
    prepare(databases)
    auth.add_user(databases.work, "jose_b", "segmentador", "a long password 3", member="Jose")
    auth.set_language(databases.work, "jose_b", "en")
    notify_due.enqueue_receipts(databases, [{**RECEIPT, "uploader": "José"}], NOW)
    notify_due.send_due(databases, digests=False)
    [mail] = smtp.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == "jose.a@example.org"
    assert mail["Subject"].startswith("Carga batch_7_part1.zip")


def test_a_member_whose_email_is_no_text_stops_nobody_elses_receipt(notify_dbs, smtp):
    """Another tool stored Flor's email as a list: her receipt cannot go to her, and the
    coordinator's copy still does (no traceback, nothing blocked)."""
    databases = notify_dbs()
    _team(databases)
    databases.work.segmentadores.update_one(
        {"name": "Flor"}, {"$set": {"email": ["flor@example.org"]}}
    )
    assert notify_due.enqueue_receipts(databases, [RECEIPT], NOW) == 1
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    [mail] = smtp.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == "ana@example.org"


def test_a_failed_test_message_is_reported_and_never_delivered_later(notify_dbs, smtp):
    """`notify --test` is a probe of now: two tests against a server answering 451, then one
    once it is fixed, and the timer's pass: one test email arrives, not three."""
    databases = notify_dbs()
    smtp.behaviour.refuse = "451 4.3.0 Try again later"
    for moment in (NOW, NOW + timedelta(seconds=1)):
        assert notify_due.enqueue_test(databases, moment) == 1
        report = notify_due.send_due(databases, digests=False)
        assert report.failed and not report.retrying and not report.sent
    smtp.behaviour.refuse = None
    assert notify_outbox.retry_waiting(databases.work, "test") == 0  # --retry leaves them
    assert notify_due.enqueue_test(databases, NOW + timedelta(minutes=1)) == 1
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    later = datetime.now(timezone.utc) + timedelta(hours=7)
    timer = notify_outbox.send_due(
        databases.work, notify_due.deliverer(databases.settings), lambda: later
    )
    assert timer.sent == []
    assert len(smtp.wait_for(1)) == 1
    failed = notify_outbox.list_messages(databases.work, "failed")
    assert len(failed) == 2 and all(m["due_at"] <= later.replace(tzinfo=None) for m in failed)


def test_a_test_message_an_older_version_left_waiting_is_not_sent_late(notify_dbs, smtp):
    databases = notify_dbs()
    notify_due.enqueue_test(databases, NOW)
    databases.work[notify_outbox.OUTBOX].update_many({}, {"$set": {"attempts": 3}})
    report = notify_due.send_due(databases, digests=False)
    assert report.failed and not report.sent and smtp.messages == []


@pytest.mark.parametrize(
    ("uploader", "address"),
    [
        ("Jose", "jose.b@example.org"),
        ("José", "jose.a@example.org"),
        ("JOSE", "jose.a@example.org"),
    ],
)
def test_of_legacy_duplicates_an_upload_is_told_to_the_one_spelled_exactly_so(
    notify_dbs, smtp, uploader, address
):
    """José and Jose, as the old dashboard may leave them: Jose's upload went to José. The
    member spelled exactly as `uploaded_by` wins; otherwise the first, as everywhere."""
    databases = notify_dbs(notify_coordinators=())
    databases.work.segmentadores.insert_many(
        [
            {"name": "José", "role": "Segmentador", "email": "jose.a@example.org"},
            {"name": "Jose", "role": "Segmentador", "email": "jose.b@example.org"},
        ]
    )
    prepare(databases)
    notify_due.enqueue_receipts(databases, [{**RECEIPT, "uploader": uploader}], NOW)
    assert len(notify_due.send_due(databases, digests=False).sent) == 1
    [mail] = smtp.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == address
