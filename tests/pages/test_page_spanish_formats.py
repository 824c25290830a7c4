"""What a Spanish reader sees besides translated labels: dates on chart axes, plurals, option
labels, and a batch export a Spanish spreadsheet opens right (the machine CSV unchanged)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest

from segcore.views import batch_table
from segcore.work.batches import BatchQuery
from tests.helpers import chart_titles, charts, page

ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
SPANISH_MONTHS = re.compile(r"\b(ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\b")


@pytest.fixture(params=["en", "es"])
def language(request, monkeypatch):
    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", request.param)
    monkeypatch.setattr(i18n, "current_language", lambda: request.param)
    return request.param


def test_chart_date_axes_are_written_in_the_readers_language(demo_dbs, language):
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert (
        chart_titles(at)[2:4]
        == {
            "en": ["Uploads per day", "Burn-down of batches not delivered (usable masks)"],
            "es": ["Subidas por día", "Avance de lotes sin entregar (máscaras utilizables)"],
        }[language]
    )
    found = charts(at)
    for key in ("chart_uploads", "chart_burndown"):
        ticks = " ".join(found[key]["layout"]["xaxis"]["ticktext"])
        months = SPANISH_MONTHS if language == "es" else ENGLISH_MONTHS
        other = ENGLISH_MONTHS if language == "es" else SPANISH_MONTHS
        assert months.search(ticks) and not other.search(ticks), (key, ticks)


@pytest.mark.parametrize(
    "language, one, many",
    [
        ("en", "1 batch matches · page 1 of 1", "60 batches match"),
        ("es", "1 lote coincide · página 1 de 1", "60 lotes coinciden"),
    ],
)
def test_the_match_count_takes_its_plural(demo_dbs, monkeypatch, language, one, many):
    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", language)
    monkeypatch.setattr(i18n, "current_language", lambda: language)  # AppTest's reruns
    at = page("batches").run()
    assert many in at.caption[0].value
    at.text_input(key="bf_text").input("batch_17").run()
    assert at.caption[0].value.startswith(one)


def test_one_person_is_not_people_and_sort_options_are_capitalised(app_env, language):
    from segcore.team import team

    team.add_member(app_env.work, "Flor", author="test")
    app_env.work.batches.insert_one(
        {"id": "batch_1", "number": 1, "status": "pending", "assignee": "Flor"}
    )
    dashboard = page("dashboard").run()
    assert not dashboard.exception, dashboard.exception
    placeholder = dashboard.text_input(key="dash_people_search").placeholder
    assert placeholder == {"en": "1 person", "es": "1 persona"}[language]  # all shown: no top 20
    batches = page("batches").run()
    options = batches.selectbox(key="bf_sort").options
    assert options and all(o[0].isupper() for o in options), options
    checks = batches.selectbox(key="bf_check").options
    assert all(o[0].isupper() or o.startswith("(") for o in checks), checks


def _seed_export(db) -> None:
    db.batches.insert_many(
        [
            {
                "id": "batch_1",
                "number": 1,
                "assignee": "Flor Muñoz",
                "status": "pending",
                "mongo_uploaded": True,
                "folder": "/data/batch_1",
                "metadata": {"priority": "alta", "due_date": "2026-11-26"},
            },
            {
                "id": "batch_2",
                "number": 2,
                "assignee": '=HYPERLINK("http://x")',
                "status": "S",
                "folder": "/data/batch_2",
            },
        ]
    )


SPREADSHEET = {
    "en": (
        ",",
        ["Batch", "Assignee", "Status", "Priority", "Due date"],
        ["batch_1", "Flor Muñoz", "Pending", "High", "2026-11-26"],
        "Yes",
    ),
    "es": (
        ";",
        ["Lote", "Asignado a", "Estado", "Prioridad", "Fecha límite"],
        ["batch_1", "Flor Muñoz", "Pendiente", "Alta", "26/11/2026"],
        "Sí",
    ),
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_spreadsheet_export_is_in_the_language_it_is_asked_for(app_env, language):
    # Called the way a click calls it: outside any page script, no session to ask.
    from ui.app import i18n
    from ui.batches.spreadsheet_export import spreadsheet_export

    _seed_export(app_env.work)
    separator, header, first, yes = SPREADSHEET[language]
    data = spreadsheet_export(BatchQuery(), separator, language)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the accents
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=separator))
    assert rows[0][:5] == [
        i18n.translations(language).gettext(h) if language == "es" else h
        for h in SPREADSHEET["en"][1]
    ]
    assert rows[0][:5] == header
    assert rows[1][:5] == first and yes in rows[1]
    assert rows[2][1] == '\'=HYPERLINK("http://x")'  # kept as text, never a formula
    assert rows[2][2] == "S"  # a legacy status as stored
    assert len(rows) == 3


def test_the_batches_pages_spreadsheet_button_downloads_in_the_pages_language(app_env, monkeypatch):
    # Streamlit makes a download's data on click, after the page script has ended: the file
    # came out in English under a button reading "Para una hoja de cálculo (Excel)…".
    import streamlit as st

    monkeypatch.setenv("LANGUAGE", "es")
    _seed_export(app_env.work)
    made = {}
    draw = st.download_button

    def recording(label, data, *args, **kwargs):
        made[kwargs.get("key")] = (label, data)
        return draw(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    at = page("batches").run()
    assert not at.exception
    label, data = made["export_spreadsheet"]
    assert label == "Para una hoja de cálculo (Excel), en este idioma"
    separator = at.radio(key="export_separator").value
    rows = list(csv.reader(io.StringIO(data().decode("utf-8-sig")), delimiter=separator))
    assert rows[0][:5] == SPREADSHEET["es"][1]
    assert rows[1][:5] == SPREADSHEET["es"][2]


def test_the_machine_csv_keeps_its_field_names_in_spanish(app_env, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    _seed_export(app_env.work)
    text = batch_table.export_csv(app_env.work, BatchQuery())
    assert text.splitlines()[0].startswith("id,assignee,status,priority,due_date")
    assert "batch_1,Flor Muñoz,pending,alta,2026-11-26" in text


@pytest.mark.parametrize("language, separator", [("en", ","), ("es", ",")])
def test_the_default_separator_follows_the_locales_decimal_mark(monkeypatch, language, separator):
    # es_MX writes 1,234.5: a Mexican Excel separates lists with a comma. A reader in Spain
    # picks the semicolon in the export's options.
    from ui.app import i18n
    from ui.batches import spreadsheet_export

    monkeypatch.setattr(i18n, "current_language", lambda: language)
    assert spreadsheet_export.default_separator() == separator
    assert (
        spreadsheet_export.cell("due_date", date(2026, 11, 26))
        == {"en": "2026-11-26", "es": "26/11/2026"}[language]
    )


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# "5 dic 2026" / "Dec 5, 2026", the locale's medium format (ui.app.i18n.format_date/_datetime).
MEDIUM = {
    "es": re.compile(r"\b\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic) \d{4}\b"),
    "en": re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b"),
}


def table_text(at) -> str:
    return " ".join(frame.value.astype(str).to_string() for frame in at.dataframe)


def test_the_team_and_sync_pages_write_dates_as_the_language_does(demo_dbs, language):
    """The Spanish Team table put "5 dic 2026" (last delivery) beside "2026-12-05 17:00" (last
    uploads), and the Sync page's runs and uploads were ISO: every date a table shows is the
    locale's, as the others ("Dec 5, 2026, 5:00:00 PM" in English)."""
    for name in ("team", "sync"):
        at = page(name).run()
        assert not at.exception, at.exception
        text = table_text(at)
        assert MEDIUM[language].search(text) and not ISO_DAY.search(text), (name, text)
    batches = page("batches").run()
    config = json.loads(batches.dataframe[0].proto.columns)["latest_upload"]["type_config"]
    assert config["format"] == {"es": "DD/MM/YYYY HH:mm", "en": "YYYY-MM-DD HH:mm"}[language]
