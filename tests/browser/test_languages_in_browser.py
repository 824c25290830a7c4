"""Every page in both languages in Chromium: the sidebar's selector switches the whole app, and
each page is photographed in English and in Spanish (tests/artifacts/<page>-<lang>.png)."""

from __future__ import annotations

import pytest

from tests.helpers import SCREENSHOTS, pick_option

pytestmark = pytest.mark.browser
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
# Page -> its title (and sidebar link) in English and in Spanish.
TITLES = {
    "dashboard": ("Dashboard", "Tablero"),
    "batches": ("Batches", "Lotes"),
    "team": ("Team", "Equipo"),
    "moves": ("Suggested moves", "Movimientos sugeridos"),
    "sync": ("Sync", "Sincronización"),
    "settings": ("Settings", "Configuración"),
}
# Texts each page shows besides its title, in Spanish (checked after the switch); the moves
# page's text depends on what is at risk today.
SLOW = 180_000  # ms: a page's first run in a fresh app, on a busy machine
# Loading the demo (300 batches) and its first sync: minutes beside a CPU load.
LOADING = 600_000

SPANISH_TEXTS = {
    "dashboard": "Última sincronización",
    "batches": "Acciones en bloque",
    "team": "Agregar un segmentador",
    "moves": None,
    "sync": "Sincronizar ahora",
    "settings": "Configuración efectiva",
}


def wait_for_title(page, title: str) -> None:
    page.wait_for_selector(CONNECTED, timeout=SLOW)
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=SLOW)
    page.wait_for_load_state("networkidle")


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.inner_text("body")


def walk(page, language: int, suffix: str) -> None:
    """Open every page from the sidebar (the session, and so the language, is kept)."""
    sidebar = page.get_by_test_id("stSidebar")
    for name, titles in TITLES.items():
        sidebar.get_by_role("link", name=titles[language], exact=True).click()
        wait_for_title(page, titles[language])
        if language == 1 and SPANISH_TEXTS[name]:
            page.get_by_text(SPANISH_TEXTS[name], exact=True).first.wait_for(timeout=SLOW)
        assert_no_exception(page)
        # Named apart from the walk's (test_walk_in_browser.py owns the README's pictures):
        # the two may run at once in two test workers.
        page.screenshot(path=str(SCREENSHOTS / f"languages-{name}-{suffix}.png"), full_page=True)


def choose_language(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text=label)
    pick_option(page, box, option)


def test_every_page_in_english_then_in_spanish(page, app_url):
    page.goto(app_url)
    wait_for_title(page, "Dashboard")
    # A newcomer's empty database: load the demo so every page has something to show.
    page.get_by_role("button", name="Load demo data…").click()
    page.get_by_role("button", name="Load the demo").click()
    page.get_by_text("Demo loaded:").first.wait_for(timeout=LOADING)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Sync", exact=True).click()
    wait_for_title(page, "Sync")
    page.get_by_role("button", name="Sync now").click()
    page.get_by_text("Sync finished").first.wait_for(timeout=LOADING)
    walk(page, 0, "en")

    choose_language(page, "Language", "Español")
    wait_for_title(page, "Configuración")  # the page shown last, now in Spanish
    page.get_by_test_id("stSidebar").get_by_text("Conexión").wait_for()
    walk(page, 1, "es")
    body = page.inner_text("body")
    assert "Effective configuration" not in body and "Connection to both" not in body

    choose_language(page, "Idioma", "English")
    wait_for_title(page, "Settings")
