"""Pure parts of the notifications: settings and their redaction, receipts' verdicts, webhook
shapes and signatures, and the "Write to" link (no database, no network)."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from segcore.core.errors import ConfigError
from segcore.core.redact import mask_url
from segcore.core.translations import Words
from segcore.notify.notify_channels import email_message, signature, webhook_payload
from segcore.notify.notify_mailto import MAX_LINK, mail_address, mailto_link, person_batches
from segcore.notify.notify_messages import Recipient, excluded, receipt_problems
from segcore.settings.config import settings_from
from segcore.settings.config_table import describe


def test_settings_read_every_notification_variable_and_describe_masks_the_secrets():
    settings = settings_from(
        {
            "SMTP_URL": "smtps://dash:Pa%40ss@mail.example.org:465",
            "NOTIFY_FROM": "Dashboard <dash@example.org>",
            "WEBHOOK_URL": "https://hooks.slack.com/services/T1/B2/TokenXYZ",
            "WEBHOOK_FORMAT": "Slack",
            "WEBHOOK_SECRET": "hmac-key-1",
            "NOTIFY_COORDINATORS": "Ana <ana@example.org>, luis@example.org",
            "NOTIFY_EXCLUDE": "Flor, x@example.org",
            "NOTIFY_WEEKLY": "off",
            "NOTIFY_HOUR": "7",
        }
    )
    assert settings.webhook_format == "slack" and settings.notify_weekly is False
    assert settings.notify_coordinators == (
        ("Ana", "ana@example.org"),
        ("luis", "luis@example.org"),
    )
    assert settings.notify_exclude == ("Flor", "x@example.org") and settings.notify_hour == 7
    shown = describe(settings)
    assert shown["SMTP_URL"] == "smtps://dash:***@mail.example.org:465"
    assert shown["WEBHOOK_URL"] == "https://hooks.slack.com/***"
    assert shown["WEBHOOK_SECRET"] == "***"
    text = repr(settings) + repr(shown)
    assert all(secret not in text for secret in ("Pa%40ss", "Pa@ss", "TokenXYZ", "hmac-key-1"))


@pytest.mark.parametrize(
    "url, shown",
    [
        ("smtp://mail.example.org:25", "smtp://mail.example.org:25"),
        ("smtp://user@mail.example.org", "smtp://user:***@mail.example.org"),
        ("http://127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/***"),
        (None, "(not set)"),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_no_sender_is_refused_only_when_email_is_configured():
    assert settings_from({}).notify_channels == ()
    with pytest.raises(ConfigError, match="NOTIFY_FROM"):
        settings_from({"SMTP_URL": "smtp://mail.example.org"})
    with pytest.raises(ConfigError, match="NOTIFY_FROM"):
        settings_from({"SMTP_URL": "smtp://mail.example.org", "NOTIFY_FROM": "nobody"})


@pytest.mark.parametrize(
    "problems, verdicts",
    [
        ({"unreadable": "truncated gzip stream"}, ["unreadable"]),
        ({"missing": ["a.png"], "missing_count": 1}, ["incomplete"]),
        ({"missing_count": 3, "content": ["a_mask.png: empty"]}, ["incomplete", "content"]),
        ({"unreadable": None, "missing": [], "content": []}, []),
        ({}, []),
    ],
)
def test_receipt_verdicts(problems, verdicts):
    assert receipt_problems({"problems": problems}) == verdicts


def test_exclusion_by_name_ignores_case_accents_and_spacing_and_by_address_case():
    flor = Recipient("Flór", "Flor@Example.org", "es")
    assert excluded(flor, (" flor ",)) and excluded(flor, ("flor@example.org",))
    assert not excluded(flor, ("Ana",))


DOC = {
    "_id": "receipt:r1:ana@example.org",
    "kind": "receipt",
    "to": "ana@example.org",
    "name": "Ana",
    "language": "es",
    "subject": "Carga x.zip: faltan máscaras",
    "text": "Hola Ana:\n",
    "html": None,
    "data": {"upload_id": "u1"},
}


def test_the_email_has_a_message_id_from_its_key_and_its_language():
    message = email_message(DOC, "Dash <dash@example.org>")
    again = email_message(DOC, "Dash <dash@example.org>")
    assert message["Message-ID"] == again["Message-ID"]  # a rare duplicate is recognisable
    assert message["Content-Language"] == "es" and message["Subject"] == DOC["subject"]


def test_webhook_shapes_and_the_signature():
    assert webhook_payload("slack", DOC) == {"text": "*Carga x.zip: faltan máscaras*\nHola Ana:\n"}
    card = webhook_payload("teams", DOC)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert webhook_payload("json", DOC)["data"] == {"upload_id": "u1"}
    # Known answer: HMAC-SHA256("k", "1700000000.{}").
    assert signature("k", "1700000000", b"{}") == (
        "sha256=" + __import__("hmac").new(b"k", b"1700000000.{}", "sha256").hexdigest()
    )
    assert signature("k", "1700000000", b"{}") != signature("k", "1700000001", b"{}")


def test_a_file_name_shaped_like_a_slack_link_stays_text():
    odd = {**DOC, "subject": "Upload <https://evil.example/|batch_12 fixed>.zip", "text": "a & b"}
    text = webhook_payload("slack", odd)["text"]
    assert text == "*Upload &lt;https://evil.example/|batch_12 fixed&gt;.zip*\na &amp; b"


ROWS = [
    {
        "id": "batch_1",
        "assignee": "Luis",
        "open": True,
        "due_date": date(2025, 1, 2),
        "mask_state": None,
    },
    {"id": "batch_2", "assignee": "luis ", "open": True, "due_date": None, "mask_state": None},
    {
        "id": "batch_3",
        "assignee": "Luis",
        "open": False,
        "due_date": None,
        "mask_state": "incomplete",
    },
    {
        "id": "batch_4",
        "assignee": "Ana",
        "open": True,
        "due_date": date(2025, 1, 1),
        "mask_state": None,
    },
    {  # a broken first upload, then a complete one: delivered, nothing to ask about
        "id": "batch_5",
        "assignee": "Luis",
        "open": False,
        "usable": True,
        "due_date": None,
        "mask_state": "unreadable",
    },
]


def test_write_to_names_the_persons_batches_in_the_readers_language():
    batches = person_batches(ROWS, "Luis", date(2025, 3, 1))
    assert batches == {
        "open": ["batch_1", "batch_2"],
        "overdue": ["batch_1"],
        "incomplete": ["batch_3"],
    }
    link = mailto_link("Luis", "luis@example.org", batches, Words("es"))
    parts = urlsplit(link)
    assert parts.scheme == "mailto" and parts.path == "luis@example.org"
    query = parse_qs(parts.query)
    assert query["subject"] == ["Tus lotes de segmentación"]
    body = query["body"][0]
    assert "Lotes abiertos (2): batch_1, batch_2" in body and "Vencidos (1): batch_1" in body
    assert "Cargas incompletas o ilegibles (1): batch_3" in body
    assert " " not in link and "\n" not in link and "%0D%0A" in link


@pytest.mark.parametrize(
    ("stored", "address"),
    [
        ("luis@example.org", "luis@example.org"),
        (None, None),
        ("", None),
        ("   ", None),
        (["luis@example.org", "luis2@example.org"], None),  # another tool's list
        (42, None),
        ({"work": "luis@example.org"}, None),
    ],
)
def test_write_to_goes_only_to_an_email_stored_as_text(stored, address):
    assert mail_address(stored) == address


def test_a_long_list_is_shortened_to_keep_the_link_short():
    batches = {"open": [f"batch_{n}" for n in range(2000)], "overdue": [], "incomplete": []}
    link = mailto_link("Luis", "luis@example.org", batches, Words("en"))
    assert len(link) <= MAX_LINK
    body = unquote(link.split("body=", 1)[1])
    assert body.startswith("Hello Luis,") and "Open batches (2000): batch_0, " in body
    assert "more" in body and "Overdue (0): none" in body


@pytest.mark.parametrize(
    "stored, verdicts",
    [
        (
            {
                "_id": "u1",
                "problem": "unreadable",
                "reason": "part of a split archive",
                "readable": False,
            },
            ["unreadable"],
        ),
        (
            {
                "_id": "u2",
                "problem": "incomplete",
                "missing": ["a.png"],
                "missing_count": 4,
                "readable": True,
            },
            ["incomplete"],
        ),
        (
            {"_id": "u3", "problem": None, "readable": True, "content": ["a_mask.png: empty"]},
            ["content"],
        ),
        ({"_id": "u4", "problem": None, "readable": True, "missing_count": 0}, []),
        ({"_id": "u5", "problem": "no_batch", "readable": True}, []),
    ],
)
def test_a_stored_upload_receipt_becomes_a_receipt_to_notify(stored, verdicts):
    from segcore.notify.notify_messages import receipt_from_stored

    receipt = receipt_from_stored(
        {"filename": "x.zip", "uploaded_by": "flor", "batches": ["batch_7"], **stored}
    )
    assert receipt_problems(receipt) == verdicts
    assert receipt["id"] == stored["_id"] and receipt["uploader"] == "flor"


def test_a_stored_receipt_is_worded_in_each_recipients_language():
    """The reason kept as a template and the content checks' offenders as codes: Spanish for
    Flor, English for Ana; an unreadable upload's content result is not repeated."""
    from segcore.core.phrases import Phrase
    from segcore.masks.receipts import INCOMPLETE
    from segcore.notify.notify_messages import Recipient, receipt_from_stored, receipt_text

    stored = {
        "_id": "u9",
        "filename": "batch_7.zip",
        "uploaded_by": "flor",
        "batches": ["batch_7"],
        "readable": True,
        "problem": "incomplete",
        "reason": Phrase(INCOMPLETE, plural_by="images", batch="batch_7", missing=1, images=3),
        "missing": ["img_003.png"],
        "missing_count": 1,
        "content": {
            "problems": 1,
            "offenders": [{"name": "img_001_mask.png", "code": "empty", "params": {}}],
            "notes": [],
        },
    }
    receipt = receipt_from_stored(stored)
    assert receipt_problems(receipt) == ["incomplete", "content"]
    _, spanish = receipt_text(receipt, Recipient("Flor", "flor@example.org", "es"))
    _, english = receipt_text(receipt, Recipient("Ana", "ana@example.org", "en"))
    assert "- img_001_mask.png: vacía" in spanish and "- img_003.png" in spanish
    assert "- img_001_mask.png: empty" in english

    unreadable = receipt_from_stored(
        {
            **stored,
            "readable": False,
            "problem": "unreadable",
            "reason": Phrase("unsupported format ({format})", format="RAR"),
        }
    )
    assert receipt_problems(unreadable) == ["unreadable"]
    _, spanish = receipt_text(unreadable, Recipient("Flor", "flor@example.org", "es"))
    assert "No se puede leer: formato no compatible (RAR)" in spanish


@pytest.mark.parametrize(
    "value, expected",
    [
        # Outlook's To: field copied as it is
        (
            "ana@example.org; luis@example.org",
            (("ana", "ana@example.org"), ("luis", "luis@example.org")),
        ),
        (
            "Ana Pérez <ana@example.org>; Luis <luis@example.org>;",
            (("Ana Pérez", "ana@example.org"), ("Luis", "luis@example.org")),
        ),
        (
            '"Pérez, Ana" <ana@example.org>, luis@example.org',
            (("Pérez, Ana", "ana@example.org"), ("luis", "luis@example.org")),
        ),
        ("<ana@example.org>", (("ana", "ana@example.org"),)),
    ],
)
def test_coordinators_are_separated_by_commas_or_semicolons(value, expected):
    assert settings_from({"NOTIFY_COORDINATORS": value}).notify_coordinators == expected


@pytest.mark.parametrize(
    "value, named",
    [
        ("Pérez, Ana <ana@example.org>", "'Pérez' is not an email address (a name with a comma"),
        ("ana@example.org luis@example.org", "(separate addresses with commas or semicolons)"),
        ("Ana <ana@example.org> luis@example.org", "'Ana <ana@example.org> luis@example.org'"),
        ("Ana <ana@example.org", "'Ana <ana@example.org' is not an email address"),
        ("ana@example.org; Luis", "'Luis' is not an email address"),
    ],
)
def test_a_coordinator_entry_that_is_no_address_is_refused_never_dropped(value, named):
    with pytest.raises(ConfigError, match="NOTIFY_COORDINATORS") as refused:
        settings_from({"NOTIFY_COORDINATORS": value})
    assert named in str(refused.value)


def test_excluded_names_and_addresses_are_separated_by_commas_or_semicolons():
    exclude = settings_from(
        {"NOTIFY_EXCLUDE": 'Flor; luis@example.org, "Pérez, Ana"; Ceci <ceci@example.org>'}
    ).notify_exclude
    assert exclude == ("Flor", "luis@example.org", "Pérez, Ana", "Ceci", "ceci@example.org")
    assert excluded(Recipient("Luis", "luis@example.org", "es"), exclude)
    assert excluded(Recipient("flor", "flor@example.org", "es"), exclude)


def test_teams_gets_names_and_file_names_as_text_not_markdown():
    """A file name shaped like a Markdown link was a clickable phishing link in the
    coordinators' channel: escaped for the card's Markdown, as Slack's format escapes it."""
    name = "[Open the corrected masks](https://phish.example/login) **batch_1**.zip"
    doc = {"_id": "k", "kind": "receipt", "subject": f"Upload {name}", "text": f"- {name}\n"}
    card = webhook_payload("teams", doc)["attachments"][0]["content"]
    subject, text = (block["text"] for block in card["body"])
    for said in (subject, text):
        assert "[Open the corrected masks](" not in said and "**batch" not in said
        assert "\\[Open the corrected masks\\](https://phish.example/login)" in said
    assert text.startswith("- ")  # our own list keeps its shape


def test_a_receipt_lists_twenty_content_problems_then_how_many_more_then_the_notes():
    """30 empty masks: the uploader saw 20 and nothing about the other 10."""
    from segcore.notify.notify_messages import receipt_from_stored, receipt_text

    offenders = [
        {"name": f"img_{n:03d}_mask.png", "code": "empty", "params": {}} for n in range(1, 31)
    ]
    stored = {
        "_id": "u30",
        "filename": "batch_1.zip",
        "uploaded_by": "flor",
        "batches": ["batch_1"],
        "readable": True,
        "problem": "content",
        "content": {"problems": 30, "offenders": offenders, "notes": []},
    }
    _, text = receipt_text(receipt_from_stored(stored), Recipient("Ana", "ana@example.org", "en"))
    listed = [line for line in text.splitlines() if line.startswith("- img_")]
    assert len(listed) == 20 and listed[-1].startswith("- img_020_mask.png")
    assert "- and 10 more" in text
    _, spanish = receipt_text(receipt_from_stored(stored), Recipient("Flor", "f@x.org", "es"))
    assert "- y 10 más" in spanish


def test_a_content_checks_reasons_are_worded_in_the_readers_language():
    """The reasons the content checks store in English (a mask's, an upload's note) are worded
    in Spanish for Flor, the library's own words kept, as the pages show them."""
    from segcore.notify.notify_messages import receipt_from_stored, receipt_text

    stored = {
        "_id": "u8",
        "filename": "batch_8.zip",
        "uploaded_by": "flor",
        "batches": ["batch_8"],
        "readable": True,
        "problem": "content",
        "content": {
            "problems": 1,
            "offenders": [
                {
                    "name": "a_mask.png",
                    "code": "unreadable",
                    "params": {"reason": "not a readable image (Truncated File Read)"},
                }
            ],
            "notes": [{"code": "unreadable", "params": {"reason": "encrypted 7z archive"}}],
        },
    }
    _, spanish = receipt_text(receipt_from_stored(stored), Recipient("Flor", "f@x.org", "es"))
    assert "- a_mask.png: ilegible (imagen no legible (Truncated File Read))" in spanish
    assert "- la carga no se puede leer (archivo 7z cifrado)" in spanish
    _, english = receipt_text(receipt_from_stored(stored), Recipient("Ana", "a@x.org", "en"))
    assert "- a_mask.png: unreadable (not a readable image (Truncated File Read))" in english
