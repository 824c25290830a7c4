"""In Chromium, in Spanish, as the coordinator's walk found it: no English "Press Enter to submit
form" under the login, "Descartar" asks before throwing unsaved edits away, typing a batch id
and Enter in "Lotes a revisar" chooses that batch only, and after "Devolver" (or a change made
meanwhile) no chip keeps a status the batch no longer has."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from pymongo import MongoClient

from segcore.store import data_version, embedded
from segcore.team import auth, team
from tests.helpers import ROOT

pytestmark = pytest.mark.browser
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
SLOW = 180_000  # ms: a limit for states that take long only on a busy machine
PASSWORD = "correct horse battery"
IN_REVIEW = (1, 10, 11, 12)  # "batch_1" is part of each of their ids


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """LOGIN=on, LANGUAGE=es, a coordinator, Ana López and 30 batches, four of them delivered
    and in review."""
    home = tmp_path_factory.mktemp("spanish-app")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO", "DATA_DIRECTORY", "BATCHES_FILE", "LOGIN"))
    }
    env.update(EMBEDDED_DB_PATH=str(home / "db"), PYTHONPATH=str(ROOT), LOGIN="on", LANGUAGE="es")
    env.update(SMTP_URL="", WEBHOOK_URL="", NOTIFY_COORDINATORS="")  # nothing leaves the machine
    client = MongoClient(embedded.ensure_server(home / "db"))
    work = client.segmentacion_db
    auth.add_user(work, "coord", "coordinator", PASSWORD)
    for name in ("Ana López", "Beto Ruiz"):
        team.add_member(work, name, author="test")
    work.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": "Ana López" if n in IN_REVIEW else None,
                "status": "review" if n in IN_REVIEW else "pending",
                "mongo_uploaded": n in IN_REVIEW,
            }
            for n in range(1, 31)
        ]
    )
    client.close()
    yield env, home
    embedded.stop_server(home / "db")


@pytest.fixture(scope="module")
def work_db(app_env):
    _env, home = app_env
    client = MongoClient(
        embedded.running_server(home / "db") or embedded.ensure_server(home / "db")
    )
    yield client.segmentacion_db
    client.close()


def settled(tab) -> None:
    """Connected, and no run going on."""
    tab.wait_for_selector(CONNECTED, timeout=SLOW)
    tab.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=SLOW)


def log_in(tab, app_url: str, path: str, heading: str) -> None:
    tab.goto(f"{app_url}/{path}", timeout=SLOW)
    tab.get_by_role("heading", name="Iniciar sesión", exact=True).wait_for(timeout=SLOW)
    tab.get_by_role("textbox", name="Nombre de usuario").fill("coord")
    tab.get_by_role("textbox", name="Contraseña").fill(PASSWORD)
    tab.get_by_role("button", name="Iniciar sesión").click()
    tab.get_by_role("heading", name=heading, exact=True).wait_for(timeout=SLOW)
    settled(tab)


def open_review(tab):
    """The "Revisar lotes entregados" form, open: (its box of batches, the form)."""
    form = tab.get_by_test_id("stExpander").filter(has_text="Revisar lotes entregados").first
    box = form.get_by_test_id("stMultiSelect")
    if not box.is_visible():
        form.get_by_text("Revisar lotes entregados").click()
    box.wait_for()
    return box, form


def review_button(form, name: str):
    """A button of the review form, shown: a choice must not fold the form (it did, every
    choice hiding the buttons it had just labelled)."""
    button = form.get_by_role("button", name=name)
    button.wait_for()
    return button


def choose(tab, box, typed: str, option: str) -> None:
    """Type in the box and take the first option with Enter, as a coordinator does."""
    box.click()
    tab.keyboard.type(typed)
    tab.get_by_role("option", name=option, exact=True).wait_for()
    tab.keyboard.press("Enter")
    tab.keyboard.press("Escape")


def test_the_spanish_login_shows_no_english_hint_and_enter_still_logs_in(page, app_url):
    page.goto(app_url, timeout=SLOW)
    page.get_by_role("heading", name="Iniciar sesión", exact=True).wait_for(timeout=SLOW)
    page.get_by_role("textbox", name="Nombre de usuario").fill("coord")
    page.get_by_role("textbox", name="Contraseña").fill(PASSWORD)
    expect(page.get_by_text("Press Enter to submit form")).to_be_hidden()
    page.get_by_role("textbox", name="Contraseña").press("Enter")
    page.get_by_role("heading", name="Tablero", exact=True).wait_for(timeout=SLOW)


def test_discard_asks_how_many_changes_will_be_lost(page, app_url):
    from tests.browser.test_app_in_browser import edit_cell

    log_in(page, app_url, "batches", "Lotes")
    edit_cell(page, "Prioridad", "Alta", done=page.get_by_text("1 cambio sin guardar en 1 lote"))
    edit_cell(
        page, "Asignado a", "Beto Ruiz", done=page.get_by_text("2 cambios sin guardar en 1 lote")
    )
    page.get_by_role("button", name="Descartar", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Se perderán 2 cambios sin guardar en 1 lote.").wait_for()
    dialog.get_by_role("button", name="Conservarlos").click()
    dialog.wait_for(state="detached")
    page.get_by_text("2 cambios sin guardar en 1 lote").first.wait_for()  # nothing lost

    page.get_by_role("button", name="Descartar", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Descartarlos").click()
    page.get_by_text("No hay cambios sin guardar.").wait_for()


def test_typing_a_batch_id_and_enter_chooses_that_batch_only(page, app_url):
    log_in(page, app_url, "batches", "Lotes")
    box, form = open_review(page)
    box.click()
    page.keyboard.type("batch_1")
    page.get_by_role("option", name="batch_1 (En revisión)", exact=True).wait_for()
    offered = [o.inner_text() for o in page.get_by_role("option").all()]
    assert not [o for o in offered if re.search(r"Select|match", o)], offered
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    review_button(form, "Devolver (1)")


def test_after_send_back_no_chip_keeps_the_old_status(page, app_url, work_db):
    log_in(page, app_url, "batches", "Lotes")
    box, form = open_review(page)
    choose(page, box, "batch_12", "batch_12 (En revisión)")
    review_button(form, "Devolver (1)")
    form.get_by_label(re.compile("Nota para")).fill("Revisa img_001")
    form.get_by_label(re.compile("Nota para")).press("Tab")
    settled(page)
    review_button(form, "Devolver (1)").click()
    form.get_by_text("1 lote movido.").wait_for()
    assert work_db.batches.find_one({"id": "batch_12"})["status"] == "rework"
    expect(form.get_by_text("batch_12 (En revisión)")).to_have_count(0)
    expect(review_button(form, "Aceptar (0)")).to_be_disabled()
    box, form = open_review(page)
    choose(page, box, "batch_12", "batch_12 (Por corregir)")  # chosen again: labelled afresh
    review_button(form, "Aceptar (1)")

    # Changed meanwhile (a sync, another coordinator): relabelled and said, never acted on
    # under the label it had.
    box.click()
    page.keyboard.type("batch_11")
    page.get_by_role("option", name="batch_11 (En revisión)", exact=True).click()
    page.keyboard.press("Escape")
    review_button(form, "Aceptar (2)")
    work_db.batches.update_one({"id": "batch_11"}, {"$set": {"status": "done"}})
    data_version.bump_batches(work_db, ["batch_11"])
    form.get_by_label(re.compile("Nota para")).fill("otra nota")
    form.get_by_label(re.compile("Nota para")).press("Tab")
    form.get_by_text("Cambiado mientras tanto: batch_11: En revisión → Terminado.").wait_for(
        timeout=SLOW
    )
    form.get_by_text("batch_11 (Terminado)").wait_for()
    expect(form.get_by_text("batch_11 (En revisión)")).to_have_count(0)
    review_button(form, "Aceptar (2)").click()  # one it can accept, one it says why not
    form.get_by_text(
        "1 lote movido. No revisados (sin subida, o ya terminados): batch_11."
    ).wait_for()
