"""Notifications meet the values people and servers really produce: a file name with a line
break, an internationalised domain, an address typed with a display name, a webhook that
redirects, a refused SMTP login, a first sync over last year's uploads, and receipts checked
before any channel was set. Real SMTP (aiosmtpd) and HTTP servers on loopback."""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone

import pytest

from segcore.core.errors import ValidationError
from segcore.masks.receipts import NOTIFY_DUE
from segcore.notify import notify_due, notify_outbox
from segcore.team import team
from tests import test_notify
from tests.notify_servers import SmtpServer
from tests.test_notify import RECEIPT, upload_file

notify_dbs = test_notify.notify_dbs  # databases sending to the loopback servers

NOW = datetime.now(timezone.utc)


def test_a_file_name_with_a_line_break_is_sent_on_one_line_and_stops_nothing(notify_dbs, smtp):
    made = notify_dbs()
    team.add_member(made.work, "Flor", email="flor@example.org")
    odd = {**RECEIPT, "id": "r-odd", "filename": "batch_1_masks\n.zip", "uploaded_at": NOW}
    plain = {**RECEIPT, "id": "r-plain", "uploaded_at": NOW}
    notify_due.enqueue_receipts(made, [odd, plain], NOW)
    report = notify_due.send_due(made, digests=False)
    assert len(report.sent) == 4 and not report.failed  # Flor and Ana, each receipt
    subjects = sorted(m["Subject"] for m in smtp.wait_for(4))
    assert any("batch_1_masks .zip" in s for s in subjects)
    assert all("\n" not in s for s in subjects)


def test_an_internationalised_domain_is_mailed_in_idna(notify_dbs, smtp):
    made = notify_dbs(notify_coordinators=())
    team.add_member(made.work, "Flor", email="flor@münchen.de")
    notify_due.enqueue_receipts(made, [{**RECEIPT, "uploaded_at": NOW}], NOW)
    assert len(notify_due.send_due(made, digests=False).sent) == 1
    smtp.wait_for(1)
    assert smtp.mailbox.envelopes[0].rcpt_tos == ["flor@xn--mnchen-3ya.de"]


def test_an_address_typed_with_a_display_name_is_refused_and_a_stored_one_reaches_it(
    notify_dbs, smtp
):
    made = notify_dbs(notify_coordinators=())
    for typed in ("Flor<flor@example.org>", "flor@example.org, ana@example.org"):
        with pytest.raises(ValidationError):
            team.add_member(made.work, "Flor", email=typed)
    team.add_member(made.work, "Flor")
    made.work.segmentadores.update_one(  # as an older version let it in
        {"name": "Flor"}, {"$set": {"email": "Flor<flor@example.org>"}}
    )
    notify_due.enqueue_receipts(made, [{**RECEIPT, "uploaded_at": NOW}], NOW)
    assert len(notify_due.send_due(made, digests=False).sent) == 1
    smtp.wait_for(1)
    assert smtp.mailbox.envelopes[0].rcpt_tos == ["flor@example.org"]


@pytest.mark.parametrize("status", ["301", "302", "303"])
def test_a_webhook_that_redirects_is_not_sent(notify_dbs, hook, status):
    made = notify_dbs(smtp_url=None, webhook_url=hook.url)
    notify_due.enqueue_receipts(made, [{**RECEIPT, "uploaded_at": NOW}], NOW)
    hook.behaviour.refuse = status
    report = notify_due.send_due(made, digests=False)
    assert report.sent == [] and hook.received == []
    [doc] = notify_outbox.list_messages(made.work)
    assert doc["state"] != "sent"
    assert f"HTTP {status}, redirected to /login: nothing posted" in doc["answer"]


def test_a_refused_login_is_tried_once_per_run_not_once_per_message(
    notify_dbs, tmp_path, monkeypatch
):
    from tests.servers import make_certificates

    paths = make_certificates(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert"], paths["key"])
    monkeypatch.setenv("SSL_CERT_FILE", str(paths["ca"]))
    server = SmtpServer(tls_context=context, users={"dash": "right"}).start()
    try:
        made = notify_dbs(smtp_url=f"smtp://dash:wrong@127.0.0.1:{server.port}")
        found = [{**RECEIPT, "id": f"r-{n}", "uploaded_at": NOW} for n in range(5)]
        notify_due.enqueue_receipts(made, found, NOW)
        report = notify_due.send_due(made, digests=False)
        # One session's login (smtplib tries each mechanism the server offers: PLAIN, LOGIN),
        # not one per message: servers that count failures lock the account.
        assert report.sent == [] and server.logins <= 2
        waiting = [m for m in notify_outbox.list_messages(made.work) if m["state"] != "sent"]
        assert len(waiting) == 5  # nothing lost: each is tried again later
    finally:
        server.stop()


def test_a_first_sync_does_not_tell_last_years_uploads(notify_dbs, smtp):
    made = notify_dbs()
    team.add_member(made.work, "Flor", email="flor@example.org")
    made.work.batches.insert_many([{"id": "batch_7", "assignee": "Flor"}, {"id": "batch_8"}])
    old = upload_file(made, "batch_7.tar.gz", b"\x1f\x8b\x08 truncated")
    made.training["masks.files"].update_one(
        {"_id": old}, {"$set": {"uploadDate": datetime.now() - timedelta(days=400)}}
    )
    upload_file(made, "batch_8.tar.gz", b"\x1f\x8b\x08 truncated too")
    notify_due.verify_and_notify(made, author="test")
    subjects = {m["subject"] for m in notify_outbox.list_messages(made.work)}
    assert subjects and all("batch_8.tar.gz" in s for s in subjects), subjects
    assert made.work.receipts.count_documents({NOTIFY_DUE: True}) == 0


def test_receipts_checked_before_any_channel_is_set_are_told_once_one_is(notify_dbs, smtp):
    quiet = notify_dbs(smtp_url=None, notify_coordinators=())
    team.add_member(quiet.work, "Flor", email="flor@example.org")
    quiet.work.batches.insert_one({"id": "batch_7", "assignee": "Flor"})
    upload_file(quiet, "batch_7.tar.gz", b"\x1f\x8b\x08 truncated")
    notify_due.verify_and_notify(quiet, author="test")
    assert notify_outbox.list_messages(quiet.work) == []
    made = notify_dbs(notify_coordinators=())
    notify_due.enqueue_stored_receipts(made)
    assert len(notify_due.send_due(made, digests=False).sent) == 1
    assert "batch_7.tar.gz" in smtp.wait_for(1)[0]["Subject"]
