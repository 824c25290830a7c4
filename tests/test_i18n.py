"""The interface in Spanish and English: every visible text goes through the catalog, and the
Spanish catalog translates every text the code marks.

Texts are extracted with Babel exactly as `scripts/update-translations.sh` does, so a text added
to a page without a Spanish translation fails here, and so does a label written as a bare
string where a coordinator would see it.
"""

from __future__ import annotations

import ast
from datetime import date

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.helpers import ROOT
from ui import i18n

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "Nn_": (1, 2)}
# segcore marks the messages of its errors (and its shared labels) with N_ only.
METHOD_MAP = [("ui/**.py", "python"), ("streamlit_app.py", "python"),
              ("segcore/**.py", "python")]
CATALOG = ROOT / "locales" / "es" / "LC_MESSAGES" / "messages.po"

# Calls whose first argument (or these keywords) a coordinator reads on the screen.
VISIBLE_CALLS = {
    "title", "header", "subheader", "caption", "markdown", "write", "text", "button",
    "selectbox", "multiselect", "text_input", "text_area", "number_input", "radio", "checkbox",
    "toggle", "date_input", "download_button", "file_uploader", "form_submit_button", "error",
    "warning", "info", "success", "toast", "metric", "expander", "spinner", "status", "dialog",
    "popover", "segmented_control", "pills", "slider", "link_button", "page_link",
    "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn", "DateColumn",
    "DatetimeColumn", "LinkColumn", "ProgressColumn", "ListColumn", "Column", "Page",
    "tabs", "progress", "feedback", "chat_input", "color_picker", "select_slider",
    "time_input", "camera_input", "data_editor", "dataframe", "table", "set_page_config",
    "flash", "run_write",
}
VISIBLE_KEYWORDS = {"label", "help", "title", "placeholder", "caption", "text", "page_title",
                    "name", "xaxis_title", "yaxis_title"}
# The first argument of these is not a text (a page script, a DataFrame).
NOT_FIRST = {"page_link", "data_editor", "dataframe", "table", "set_page_config", "progress"}
# Literals shown as they are in every language: an example batch id.
NOT_TEXT = {"batch_400"}
# Tables the UI builds: their column headers (dict keys) are shown too.
TABLES = {"dataframe", "data_editor", "table"}


def extracted() -> dict[str, tuple[str, int]]:
    """Every text the code marks for translation, with where it is."""
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, METHOD_MAP, keywords=KEYWORDS):
        # A plural is one catalog entry, keyed by its singular; every form must be translated.
        text = message[0] if isinstance(message, tuple) else message
        if text:
            found.setdefault(text, (filename, lineno))
    return found


def spanish() -> dict[str, object]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="es_MX")
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def test_every_marked_text_has_a_spanish_translation():
    catalog = spanish()
    missing = []
    for text, (filename, lineno) in extracted().items():
        message = catalog.get(text)
        strings = (message.string if message is not None else None)
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or not all(strings) or message.fuzzy:
            missing.append(f"{filename}:{lineno}: {text!r}")
    assert missing == [], "not translated in locales/es:\n" + "\n".join(missing[:40])


def _is_bare_text(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple)):  # st.tabs(["One", "Two"])
        return any(_is_bare_text(element) for element in node.elts)
    if isinstance(node, ast.Constant) and node.value in NOT_TEXT:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value.replace(":material/", "").split(":")[0]) \
            and not node.value.startswith(":material/")
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and any(c.isalpha() for c in v.value)
                   for v in node.values)
    return False


def bare_visible_texts() -> list[str]:
    """Texts shown on screen without going through the catalog."""
    offenders = []
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = (node.func.attr if isinstance(node.func, ast.Attribute)
                    else node.func.id if isinstance(node.func, ast.Name) else "")
            if name not in VISIBLE_CALLS:
                continue
            candidates = ([] if name in NOT_FIRST else node.args[:1]) + [
                k.value for k in node.keywords if k.arg in VISIBLE_KEYWORDS]
            if name == "flash":  # flash(kind, text)
                candidates = node.args[1:2]
            if name == "run_write":  # its spinner label and its success text
                candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "then"]
            if name == "Page":
                candidates = [k.value for k in node.keywords if k.arg == "title"]
            if name in TABLES and node.args:  # headers of rows built as dict literals
                candidates += [key for d in ast.walk(node.args[0]) if isinstance(d, ast.Dict)
                               for key in d.keys if key is not None]
            for arg in candidates:
                if _is_bare_text(arg):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                     f"{ast.unparse(arg)[:60]}")
    return offenders


def test_no_visible_text_bypasses_the_catalog():
    offenders = bare_visible_texts()
    assert offenders == [], "wrap these in _():\n" + "\n".join(offenders[:60])


def test_texts_outside_a_streamlit_run_stay_as_written():
    assert i18n._("Save changes") == "Save changes"


@pytest.mark.parametrize("language, expected", [("es", "Guardar cambios"),
                                                ("en", "Save changes")])
def test_catalog_translates(language, expected):
    assert i18n.translations(language).gettext("Save changes") == expected


def test_stored_values_are_labelled_not_changed():
    assert i18n.translations("es").gettext("High") == "Alta"
    assert i18n.translations("en").gettext("High") == "High"


def test_numbers_and_dates_follow_the_locale(monkeypatch):
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    assert i18n.format_date(date(2026, 11, 26)) == "26 nov 2026"
    monkeypatch.setattr(i18n, "current_language", lambda: "en")
    assert i18n.format_date(date(2026, 11, 26)) == "Nov 26, 2026"
    assert i18n.format_number(12345) == "12,345"
