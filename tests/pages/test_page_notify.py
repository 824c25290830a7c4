"""The Notifications page, the Weekly report page and "Write to" on the Team page, against the
real test database and a real loopback SMTP server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from segcore.notify import notify_outbox
from segcore.notify.notify_outbox import Message
from segcore.team import team
from tests.helpers import page, seed_legacy_duplicates, shown
from tests.notify_servers import SmtpServer
from tests.pace_seed import seed_pace


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpServer().start()
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{server.port}")
    monkeypatch.setenv("NOTIFY_FROM", "dash@example.org")
    monkeypatch.setenv("NOTIFY_DAILY", "off")
    monkeypatch.setenv("NOTIFY_WEEKLY", "off")
    yield server
    server.stop()


def _failed(db, key="receipt:r1:flor@example.org"):
    notify_outbox.enqueue(
        db,
        [
            Message(
                key,
                "receipt",
                "email",
                "flor@example.org",
                "Flor",
                "es",
                "Carga x.zip: faltan máscaras",
                "Hola Flor:\n",
            )
        ],
    )
    db[notify_outbox.OUTBOX].update_one(
        {"_id": key},
        {
            "$set": {
                "state": "failed",
                "attempts": 8,
                "answer": "mail.example.org: 550 mailbox full",
            }
        },
    )


def test_without_a_channel_the_page_says_what_to_set(app_env):
    at = page("notifications").run()
    assert not at.exception, at.exception
    assert "SMTP_URL" in at.info[0].value
    assert [m.value for m in at.metric] == ["0", "0", "0", "0"]


def test_a_failed_message_shows_the_server_answer_and_is_resent(app_env, smtp):
    team.add_member(app_env.work, "Flor", email="flor@example.org")  # still written to
    _failed(app_env.work)
    at = page("notifications").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["Server's answer"]) == ["mail.example.org: 550 mailbox full"]
    assert list(table["State"]) == ["Failed"]
    at.multiselect(key="notify_resend").select("receipt:r1:flor@example.org").run()
    at.button(key="notify_resend_go").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["1 message sent."]
    assert smtp.wait_for(1)[0]["Subject"] == "Carga x.zip: faltan máscaras"
    assert notify_outbox.count_by_state(app_env.work)["sent"] == 1


def test_an_answer_stored_with_the_webhooks_token_is_shown_without_it(app_env, monkeypatch):
    """An answer stored by an earlier version, quoting the path alone (Express's 404)."""
    monkeypatch.setenv("WEBHOOK_URL", "https://hooks.example.org/hooks/T0kenS3cretPathPart?a=b")
    _failed(app_env.work, "test:1:webhook")
    app_env.work[notify_outbox.OUTBOX].update_one(
        {"_id": "test:1:webhook"},
        {"$set": {"answer": "hooks.example.org: HTTP 404 Cannot POST /hooks/T0kenS3cretPathPart"}},
    )
    at = page("notifications").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["Server's answer"]) == ["hooks.example.org: HTTP 404 Cannot POST ***"]


def test_the_weekly_report_page_shows_the_report_figures_and_offers_the_html(app_env):
    seed_pace(app_env.work)
    at = page("weekly_report").run()
    assert not at.exception, at.exception
    text = " ".join(shown(m.value) for m in at.markdown)
    assert (
        "Batches: 39 in total, 38 assigned, 31 uploaded, 31 delivered and usable, "
        "8 without masks (79.5% delivered)" in text
    )
    assert "Stalled (1)" in text
    table = at.dataframe[0].value
    assert "Cai" in list(table["Person"])
    assert any("@media print" in str(h.proto) for h in at.get("html"))


def test_the_weekly_report_page_in_spanish(app_env, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    seed_pace(app_env.work)
    at = page("weekly_report").run()
    assert not at.exception, at.exception
    assert "Informe semanal" in at.title[0].value
    text = " ".join(shown(m.value) for m in at.markdown)
    assert "Lotes: 39 en total" in text and "Detenidos (1)" in text


def test_write_to_on_the_team_page_prefills_the_persons_batches(app_env):
    seed_pace(app_env.work)
    team.edit_member(app_env.work, "Ana", "Segmentador", "ana@example.org", author="test")
    at = page("team").run()
    at.selectbox(key="edit_who").select("Ana").run()
    assert not at.exception, at.exception
    [button] = [b for b in at.get("link_button") if b.proto.label == "Write to Ana"]
    parts = urlsplit(button.proto.url)
    assert parts.path == "ana@example.org"
    body = parse_qs(parts.query)["body"][0]
    assert body.startswith("Hello Ana,") and "Overdue (1): batch_1" in body


def _write_to(at) -> list[tuple[str, str, str]]:
    """(label, address, body) of each "Write to" link on the page."""
    found = []
    for button in at.get("link_button"):
        parts = urlsplit(button.proto.url)
        found.append((button.proto.label, parts.path, parse_qs(parts.query)["body"][0]))
    return found


def test_write_to_a_legacy_duplicate_writes_to_the_member_chosen(app_env):
    """José (added first) and a legacy Jose: "Write to" José went to Jose's address, greeting
    Jose, with José's batches in it."""
    seed_legacy_duplicates(app_env.work)
    at = page("team").run()
    at.selectbox(key="edit_who").select("José").run()
    assert not at.exception, at.exception
    [(label, address, body)] = _write_to(at)
    assert (label, address) == ("Write to José", "jose@example.com")
    assert body.startswith("Hello José,") and "(3): batch_1, batch_2, batch_3" in body
    at.selectbox(key="edit_who").select("Jose").run()
    [(label, address, body)] = _write_to(at)
    assert (label, address) == ("Write to Jose", "jose2@example.com")
    assert body.startswith("Hello Jose,") and "batch_" not in body  # José holds them


def test_write_to_a_stalled_person_with_a_legacy_duplicate_uses_their_own_address(app_env):
    seed_pace(app_env.work)
    team.edit_member(app_env.work, "Cai", email="cai@example.org", author="test")
    app_env.work.segmentadores.insert_one({"name": "CAI", "email": "other@example.org"})
    at = page("dashboard").run()
    assert not at.exception, at.exception
    [(label, address, body)] = _write_to(at)
    assert (label, address) == ("Write to Cai", "cai@example.org")
    assert body.startswith("Hello Cai,") and "batch_5, batch_6" in body


def test_write_to_a_stalled_person_from_the_attention_panel_in_spanish(app_env, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    seed_pace(app_env.work)
    team.edit_member(app_env.work, "Cai", "Segmentador", "cai@example.org", author="test")
    at = page("dashboard").run()
    assert not at.exception, at.exception
    [button] = [b for b in at.get("link_button") if b.proto.label == "Escribir a Cai"]
    query = parse_qs(urlsplit(button.proto.url).query)
    assert query["subject"] == ["Tus lotes de segmentación"]
    assert query["body"][0].startswith("Hola Cai:") and "Lotes abiertos (2)" in query["body"][0]


def test_messages_another_tool_stored_incomplete_are_listed_with_a_dash(app_env):
    """A message without a subject, one without a kind and one with state null (another tool,
    an older version) made the page show a KeyError instead of the outbox."""
    now = notify_outbox.utc()
    base = {"channel": "email", "to": "luis@example.org", "text": "Check batch_7", "due_at": now}
    app_env.work[notify_outbox.OUTBOX].insert_many(
        [
            {"_id": "manual:1", **base, "kind": "receipt", "state": "sent", "created_at": now},
            {"_id": "manual:2", **base, "subject": "Hi", "state": None, "created_at": now},
            {"_id": "manual:3", **base, "subject": "Odd", "kind": "note", "state": "queued"},
        ]
    )
    at = page("notifications").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    rows = sorted(zip(table["State"], table["Kind"], table["Subject"]))
    assert rows == [("-", "-", "Hi"), ("Sent", "Upload receipt", "-"), ("queued", "note", "Odd")]


def test_a_member_whose_email_another_tool_stored_as_a_list_has_no_write_to(app_env):
    """A stalled person's email stored as a list (two addresses) stopped the Dashboard's
    Attention panel and the Team page on a traceback; it is no address to write to, as none."""
    seed_pace(app_env.work)
    two = ["cai@example.org", "cai2@example.org"]
    app_env.work.segmentadores.update_one({"name": "Cai"}, {"$set": {"email": two}})
    team.edit_member(app_env.work, "Ana", email="ana@example.org", author="test")
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert "Cai (20 days)" in " ".join(shown(m.value) for m in at.markdown)
    assert _write_to(at) == []
    at = page("team").run()
    at.selectbox(key="edit_who").select("Cai").run()
    assert not at.exception, at.exception
    assert _write_to(at) == []
    at.selectbox(key="edit_who").select("Ana").run()
    assert [label for label, _address, _body in _write_to(at)] == ["Write to Ana"]


def test_a_failure_segcore_words_is_shown_in_spanish(app_env, smtp, monkeypatch):
    """A mail server without STARTTLS, a password to send: the message is not sent, and the
    Spanish page said why in English ("the mail server does not offer STARTTLS: …"), the
    one text on it not translated."""
    monkeypatch.setenv("LANGUAGE", "es")
    monkeypatch.setenv("SMTP_URL", f"smtp://dash:Secret42@127.0.0.1:{smtp.port}")
    team.add_member(app_env.work, "Flor", email="flor@example.org")
    _failed(app_env.work)
    at = page("notifications").run()
    at.multiselect(key="notify_resend").select("receipt:r1:flor@example.org").run()
    at.button(key="notify_resend_go").click().run()
    assert not at.exception, at.exception
    [answer] = list(at.dataframe[0].value["Respuesta del servidor"])
    assert answer.startswith("el servidor de correo no ofrece STARTTLS"), answer
    assert "Secret42" not in answer and smtp.messages == []
