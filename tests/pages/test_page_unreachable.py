"""A database that cannot be reached: every page says so and offers a retry, never a traceback."""

import pytest
import streamlit as st

from tests.helpers import PAGES, free_port, page


@pytest.fixture
def dead_server(monkeypatch, tmp_path):
    port = free_port()  # a port nothing listens on
    monkeypatch.setenv("LANGUAGE", "en")  # these tests read the English texts
    monkeypatch.setenv(
        "MONGO_URI", f"mongodb://coord:secret-pw@127.0.0.1:{port}/?directConnection=true"
    )
    monkeypatch.setenv("MONGO_TIMEOUT_MS", "300")
    monkeypatch.setenv("MONGO_DB", "segmentacion_db")
    monkeypatch.delenv("DATA_DIRECTORY", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_shows_a_message_and_a_retry(dead_server, name):
    at = page(name).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("database is not available" in e for e in errors), errors
    assert not any("secret-pw" in e for e in errors)
    assert at.button(key="retry_connection")
    at.button(key="retry_connection").click().run()
    assert not at.exception


def test_sidebar_status_shows_both_databases_down(dead_server):
    at = page("streamlit_app").run()
    status = " ".join(m.value for m in at.sidebar.markdown)
    assert status.count("unreachable") == 2
    assert "secret-pw" not in status + " ".join(c.value for c in at.sidebar.caption)
    assert "coord:***@" in " ".join(c.value for c in at.sidebar.caption)


def test_bad_configuration_is_a_message(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "en")  # these tests read the English texts
    monkeypatch.setenv("MONGO_URI", "http://nope")
    st.cache_data.clear()
    at = page("dashboard").run()
    assert not at.exception
    assert "MONGO_URI must start with" in at.error[0].value


@pytest.fixture
def first_run(monkeypatch, tmp_path):
    """No MONGO_URI and a fresh folder as the working directory, as for a new user (and no
    LANGUAGE: the pages speak Spanish)."""
    for name in (
        "LANGUAGE",
        "MONGO_URI",
        "MONGO_DB",
        "TRAINING_DB",
        "DATA_DIRECTORY",
        "LOGIN",
        "EMBEDDED_DB_PATH",
        "AUTO_SYNC_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize(
    "problem,expected",
    [
        ("embedded path under a file", ("EMBEDDED_DB_PATH=", "no se puede crear ni escribir")),
        (".env not UTF-8", (".env, línea 1: no es texto UTF-8 (byte 0xf1)",)),
    ],
)
def test_a_broken_first_run_is_one_sentence_on_every_page(
    first_run, monkeypatch, problem, expected
):
    if problem == ".env not UTF-8":
        (first_run / ".env").write_bytes("MONGO_DB=se\xf1al\n".encode("latin-1"))
    else:
        (first_run / "afile").write_text("")
        monkeypatch.setenv("EMBEDDED_DB_PATH", str(first_run / "afile" / "db"))
    for name in PAGES:
        at = page(name).run()
        assert not at.exception, (name, at.exception)
        errors = [e.value for e in at.error]
        assert any(all(part in e for part in expected) for e in errors), (name, errors)


@pytest.mark.parametrize(
    "env, dotenv, frame",
    [
        ({"LANGUAGE": "en", "MONGO_URI": "mongodb://127.0.0.1:1/?tls=ture"}, "", "The config"),
        ({"MONGO_URI": "mongodb://127.0.0.1:1/?tls=ture"}, "LANGUAGE=en\n", "The config"),
        ({}, "LANGUAGE=en\nmongodb://127.0.0.1:1/teamdb\n", "The config"),  # a bad .env line
        ({"LANGUAGE": "klingon", "MONGO_URI": "http://nope"}, "", "La configuración"),
    ],
)
def test_the_configuration_error_follows_language_when_that_setting_is_sound(
    monkeypatch, tmp_path, env, dotenv, frame
):
    """LANGUAGE=en with another setting malformed: the page said "La configuración no es
    válida" among Spanish navigation around the English detail."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("MONGO_URI", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(dotenv)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page("streamlit_app").run()
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith(frame), [e.value for e in at.error]


@pytest.mark.parametrize(
    "env, expected",
    [
        (
            {"AUTO_SYNC_MINUTES": "cada hora"},
            "La configuración no es válida: AUTO_SYNC_MINUTES='cada hora' no es un número entero",
        ),
        (
            {"MONGO_URI": "http://db.lab:27017"},
            "La configuración no es válida: MONGO_URI debe empezar con mongodb:// o mongodb+srv://",
        ),
        (
            {"MASK_SUFFIXES": "_mask;_seg"},
            "La configuración no es válida: MASK_SUFFIXES: '_mask;_seg' no es un sufijo de "
            "máscara (letras, dígitos, _ - +, un punto solo al principio",
        ),
    ],
)
def test_a_spanish_coordinator_reads_the_configuration_error_in_spanish(
    monkeypatch, tmp_path, env, expected
):
    """LANGUAGE=es and a malformed setting: the page said "La configuración no es válida:
    AUTO_SYNC_MINUTES='cada hora' is not a whole number", the detail in English."""
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.setenv("LANGUAGE", "es")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page("streamlit_app").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith(expected), errors
