"""The app in Spanish: every page, the sidebar's language selector (remembered per user), and a
segcore error worded in Spanish on screen while the command line keeps English."""

from __future__ import annotations

import pytest

from segcore.team import auth, team
from tests.helpers import log_in, page

PASSWORD = "correct horse battery"

# Page script -> (its title in Spanish, a Spanish text the page shows besides the title).
SPANISH = {
    "dashboard": ("Tablero", "Lotes"),  # the first KPI
    "batches": ("Lotes", "Segmentador"),  # the first filter
    "team": ("Equipo", "Agregar un segmentador"),  # the add form
    "moves": ("Movimientos sugeridos", None),
    "receipts": ("Comprobantes", "Subido por"),  # the first filter
    "sync": ("Sincronización", "Ejecuciones"),  # the runs table
    "settings": ("Configuración", "Configuración efectiva"),
}


@pytest.fixture
def spanish(demo_dbs, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    return demo_dbs


@pytest.fixture
def spanish_outside_runs(monkeypatch):
    """Spanish in the test's own thread too. On a rerun AppTest formats every selectbox's
    value with its format_func outside the script run, where texts stay English, and then
    looks that label up among the Spanish options; the browser sends indexes and never does."""
    from ui.app import i18n

    monkeypatch.setattr(i18n, "current_language", lambda: "es")


def texts(at) -> list[str]:
    """Every title, header, label and metric label the run shows (main area and sidebar)."""
    found = [
        e.value
        for kind in ("title", "subheader", "caption", "markdown", "info")
        for e in getattr(at, kind)
    ]
    found += [m.label for m in at.metric]
    found += [
        w.label
        for kind in ("selectbox", "text_input", "button", "checkbox", "number_input")
        for w in getattr(at, kind)
    ]
    return found


@pytest.mark.parametrize("name", SPANISH)
def test_every_page_runs_in_spanish(spanish, name):
    at = page(name).run()
    assert not at.exception
    title, text = SPANISH[name]
    assert [t.value for t in at.title] == [title]
    if text:
        assert text in texts(at)


def test_dashboard_numbers_and_stored_values_in_spanish(spanish, spanish_outside_runs):
    at = page("dashboard").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lotes"] == "60"
    assert metrics["% entregado"].endswith("%")
    assert metrics["Última sincronización"].startswith("hace")
    # The status filter shows the stored values labelled in Spanish; its value stays stored.
    status = at.selectbox(key="dash_status")
    assert status.options[:3] == ["Todos", "Pendiente", "En curso"]
    status.select("pending").run()  # by value: AppTest would format the label again
    assert not at.exception
    assert at.session_state["dash_status"] == "pending"


def test_batch_filters_keep_stored_values_and_translate_labels(spanish, spanish_outside_runs):
    at = page("batches").run()
    status = at.selectbox(key="bf_status")
    assert at.session_state["bf_status"] == "All" and status.options[1] == "Pendiente"
    status.select("pending").run()  # by value: AppTest would format the label again
    assert not at.exception
    grid = at.dataframe[0].value
    assert len(grid) and set(grid["status"]) == {"pending"}  # the stored value, unchanged
    assert "Prioridad" in at.dataframe[0].proto.columns


def test_the_sidebar_selector_switches_the_texts(app_env):
    at = page("streamlit_app").run()
    assert [t.value for t in at.title] == ["Dashboard"]  # LANGUAGE=en in page tests
    at.selectbox(key="language_choice").set_value("es").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Tablero"]
    assert at.selectbox(key="language_choice").label.endswith("Idioma")
    at.selectbox(key="language_choice").set_value("en").run()
    assert [t.value for t in at.title] == ["Dashboard"]


def test_the_choice_is_remembered_for_a_logged_in_user(app_env, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    auth.add_user(app_env.work, "Coord", "coordinator", PASSWORD)
    at = log_in(page("streamlit_app").run(), "Coord", PASSWORD)
    assert [t.value for t in at.title] == ["Dashboard"]
    at.selectbox(key="language_choice").set_value("es").run()
    assert [t.value for t in at.title] == ["Tablero"]
    assert auth.user_language(app_env.work, "Coord") == "es"

    # Another browser: the login form follows LANGUAGE, then the user's own choice applies.
    other = page("streamlit_app").run()
    assert [t.value for t in other.title] == ["Log in"]
    other = log_in(other, "coord", PASSWORD)
    assert not other.exception
    assert [t.value for t in other.title] == ["Tablero"]
    assert any("Sesión iniciada como **Coord**" in c.value for c in other.sidebar.caption)


def test_a_wrong_password_is_refused_in_spanish(app_env, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    monkeypatch.setenv("LANGUAGE", "es")
    auth.add_user(app_env.work, "Coord", "coordinator", PASSWORD)
    at = page("streamlit_app").run()
    assert [t.value for t in at.title] == ["Iniciar sesión"]
    at = log_in(at, "Coord", "not the password")
    assert [e.value for e in at.error] == ["Nombre de usuario o contraseña incorrectos."]


def test_a_segcore_error_is_spanish_on_screen_and_english_on_the_command_line(
    app_env, monkeypatch, run_cli
):
    monkeypatch.setenv("LANGUAGE", "es")
    team.add_member(app_env.work, "Flor", author="test")
    at = page("team").run()
    at.text_input(key="add_name").input("FLÓR")
    at = at.button(key="add_member").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["'Flor' ya está en el equipo."]
    at.text_input(key="add_name").input("Ceci")
    at.text_input(key="add_email").input("no-es-correo")
    at = at.button(key="add_member").click().run()
    assert [e.value for e in at.error] == ["'no-es-correo' no es un correo electrónico válido."]

    duplicate = run_cli("team", "add", "FLÓR", env={"LANGUAGE": "es"})
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip() == "error: 'Flor' is already on the team."


def test_a_refused_batch_edit_is_worded_in_spanish(app_env, monkeypatch, spanish_outside_runs):
    monkeypatch.setenv("LANGUAGE", "es")
    db = app_env.work
    team.add_member(db, "Flor", author="test")
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "folder": f"/data/batch_{n}",
                "assignee": None,
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in (1, 2)
        ]
    )
    at = page("batches").run()
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {
        "edited_rows": {1: {"priority": "urgente"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    # A legacy priority (listed in the grid when a row of the page holds it) is refused at once.
    assert at.warning[0].value == (
        "batch_2 conserva su Prioridad: urgente es un valor de datos anteriores, que se "
        "conserva en los lotes que lo tienen pero no se asigna a otros."
    )
    assert at.button(key="save_batches").disabled
    # A value the grid never offers reaches Save, which refuses it in the session's language.
    at.session_state[f"batch_editor_{at.session_state['batch_editor_version']}"] = {
        "edited_rows": {1: {"due_date": "0001-01-01T00:00:00.000"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert "1 cambio sin guardar en 1 lote" in at.warning[0].value
    at.button(key="save_batches").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "No se guardó nada. batch_2: Una fecha límite debe estar entre 2000-01-01 y 2099-12-31 "
        "(no 0001-01-01T00:00:00.000)."
    ]
    assert db.batches.find_one({"id": "batch_2"}).get("metadata") is None


def test_after_login_the_selector_shows_the_users_saved_language(app_env, monkeypatch):
    # Issue 24 item 1: the page was English while the selector still said "Español".
    monkeypatch.setenv("LOGIN", "on")
    monkeypatch.setenv("LANGUAGE", "es")
    auth.add_user(app_env.work, "Coord", "coordinator", PASSWORD)
    auth.set_language(app_env.work, "Coord", "en")
    at = page("streamlit_app").run()
    assert at.selectbox(key="language_choice").value == "es"  # the login form: LANGUAGE
    at = log_in(at, "Coord", PASSWORD)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Dashboard"]
    assert at.selectbox(key="language_choice").value == "en"
    at.selectbox(key="language_choice").set_value("es").run()
    assert [t.value for t in at.title] == ["Tablero"]
    assert auth.user_language(app_env.work, "Coord") == "es"


def test_a_language_change_sends_every_labelled_choice_again(app_env, monkeypatch):
    # Issue 24 item 1: the filters kept "Todos"/"Descendente" after a change, and the next
    # live refresh reset the sort. The choices keep their stored values and are re-sent.
    at = page("streamlit_app").run()
    at.switch_page("ui/pages/batches.py").run()
    at.selectbox(key="bf_order").set_value("Descending").run()
    at.selectbox(key="bf_sort").set_value("assignee").run()
    at.selectbox(key="language_choice").set_value("es").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bf_order").value == "Descending"
    assert at.selectbox(key="bf_order").options == ["Ascendente", "Descendente"]
    assert at.selectbox(key="bf_sort").value == "assignee"
    protos = {w.key: w.proto for w in at.selectbox}
    # The browser is told the value again, in the new language's label.
    assert protos["bf_order"].set_value and protos["bf_order"].raw_value == "Descendente"


def test_select_boxes_hint_in_spanish(spanish):
    """A box nothing is chosen in yet shows the page's language, not Streamlit's English
    ("Choose an option", "Choose options")."""
    at = page("batches").run()
    assert not at.exception
    assert at.selectbox(key="masks_of").proto.placeholder == "Elige una opción"
    assert at.multiselect(key="review_ids").proto.placeholder == "Elige opciones"
