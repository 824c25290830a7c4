"""The interface in Spanish and English: every visible text goes through the catalog, and the
Spanish catalog translates every text the code marks.

Texts are extracted with Babel exactly as `scripts/update-translations.sh` does, so a text added
to a page without a Spanish translation fails here, and so does a label written as a bare
string where a coordinator would see it.
"""

from __future__ import annotations

import ast
import re
from datetime import date

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from segcore.core.phrases import Phrase
from tests.helpers import ROOT
from ui.app import i18n

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "Nn_": (1, 2)}
# segcore marks the messages of its errors (and its shared labels) with N_ only.
METHOD_MAP = [("ui/**.py", "python"), ("streamlit_app.py", "python"), ("segcore/**.py", "python")]
CATALOG = ROOT / "locales" / "es" / "LC_MESSAGES" / "messages.po"

# Calls whose first argument (or these keywords) a coordinator reads on the screen.
VISIBLE_CALLS = {
    "title",
    "header",
    "subheader",
    "caption",
    "markdown",
    "write",
    "text",
    "button",
    "selectbox",
    "multiselect",
    "text_input",
    "text_area",
    "number_input",
    "radio",
    "checkbox",
    "toggle",
    "date_input",
    "download_button",
    "file_uploader",
    "form_submit_button",
    "error",
    "warning",
    "info",
    "success",
    "toast",
    "metric",
    "expander",
    "spinner",
    "status",
    "dialog",
    "popover",
    "segmented_control",
    "pills",
    "slider",
    "link_button",
    "page_link",
    "TextColumn",
    "NumberColumn",
    "CheckboxColumn",
    "SelectboxColumn",
    "DateColumn",
    "DatetimeColumn",
    "LinkColumn",
    "ProgressColumn",
    "ListColumn",
    "Column",
    "Page",
    "tabs",
    "progress",
    "feedback",
    "chat_input",
    "color_picker",
    "select_slider",
    "time_input",
    "camera_input",
    "data_editor",
    "dataframe",
    "table",
    "set_page_config",
    "flash",
    "run_write",
}
VISIBLE_KEYWORDS = {
    "label",
    "help",
    "title",
    "placeholder",
    "caption",
    "text",
    "page_title",
    "name",
    "xaxis_title",
    "yaxis_title",
}
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
        ROOT, METHOD_MAP, keywords=KEYWORDS
    ):
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
        strings = message.string if message is not None else None
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
        return any(
            c.isalpha() for c in node.value.replace(":material/", "").split(":")[0]
        ) and not node.value.startswith(":material/")
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(v, ast.Constant) and any(c.isalpha() for c in v.value) for v in node.values
        )
    return False


def bare_visible_texts() -> list[str]:
    """Texts shown on screen without going through the catalog."""
    offenders = []
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else node.func.id
                if isinstance(node.func, ast.Name)
                else ""
            )
            if name not in VISIBLE_CALLS:
                continue
            candidates = ([] if name in NOT_FIRST else node.args[:1]) + [
                k.value for k in node.keywords if k.arg in VISIBLE_KEYWORDS
            ]
            if name == "flash":  # flash(kind, text)
                candidates = node.args[1:2]
            if name == "run_write":  # its spinner label and its success text
                candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "then"]
            if name == "Page":
                candidates = [k.value for k in node.keywords if k.arg == "title"]
            if name in TABLES and node.args:  # headers of rows built as dict literals
                candidates += [
                    key
                    for d in ast.walk(node.args[0])
                    if isinstance(d, ast.Dict)
                    for key in d.keys
                    if key is not None
                ]
            for arg in candidates:
                if _is_bare_text(arg):
                    offenders.append(
                        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(arg)[:60]}"
                    )
    return offenders


def test_no_visible_text_bypasses_the_catalog():
    offenders = bare_visible_texts()
    assert offenders == [], "wrap these in _():\n" + "\n".join(offenders[:60])


def test_texts_outside_a_streamlit_run_stay_as_written():
    assert i18n._("Save changes") == "Save changes"


@pytest.mark.parametrize("language, expected", [("es", "Guardar cambios"), ("en", "Save changes")])
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
    # a legacy due date in year 1 as stored, not "Jan 1, 1"
    assert i18n.format_date(date(1, 1, 1)) == "0001-01-01"


# --- texts segcore computes, on Spanish pages -----------------------------------------------


def english_fragments() -> set[str]:
    """The fixed words of every text segcore marks (N_, Nn_: errors, reasons, progress...),
    those of two words or more that the Spanish translation does not share."""
    catalog = spanish()
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, [("segcore/**.py", "python")], keywords=KEYWORDS
    ):
        forms = message if isinstance(message, tuple) else (message,)
        key = forms[0]
        translated = catalog.get(key)
        strings = translated.string if translated is not None else ""
        spanish_text = " ".join(strings) if isinstance(strings, tuple) else strings
        for form in forms:
            for fragment in re.split(r"\{[^}]*\}", form or ""):
                fragment = fragment.strip(" :;,.()'")
                if len(fragment.split()) >= 2 and fragment not in spanish_text:
                    found.add(fragment)
    return found


def page_texts(at) -> str:
    """Everything a page run shows: messages, headings, metrics, labels and every table cell."""
    parts = [
        e.value
        for kind in (
            "title",
            "subheader",
            "caption",
            "markdown",
            "info",
            "warning",
            "success",
            "error",
        )
        for e in getattr(at, kind)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for table in at.dataframe:
        frame = table.value
        parts += [str(c) for c in frame.columns]
        parts += [str(v) for v in frame.astype(str).to_numpy().ravel()]
    return "\n".join(parts)


def english_left(at, fragments: set[str]) -> list[str]:
    text = page_texts(at)
    return sorted(f for f in fragments if f in text)


@pytest.fixture
def spanish_app(app_env, monkeypatch):
    """The app in Spanish (also outside the script runs, where AppTest formats options)."""
    import importlib

    # A ui module first imported while the patch is on would keep the patched function for
    # the rest of the session (`from ui.app.i18n import current_language`): import them first.
    for path in sorted((ROOT / "ui").glob("*/*.py")):
        if path.parent.name != "pages" and path.name != "__init__.py":
            importlib.import_module(f"ui.{path.parent.name}.{path.stem}")
    monkeypatch.setenv("LANGUAGE", "es")
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    return app_env


def test_the_english_fragments_are_found_where_english_is_shown():
    fragments = english_fragments()
    # The check below is only as good as this list: it holds the texts the pages word.
    assert {
        "would finish it by",
        "is no longer on the team",
        "suggested move",
        "no complete index from an earlier sync",
        "Reading what changed since the last sync",
        "embedded server",
        "it has usable masks now, so it stays where it is",
    } <= fragments


def test_no_english_text_computed_by_segcore_on_a_spanish_page(spanish_app):
    """Moves with their reasons and changes, an applied move in a batch's history, a full sync
    and its reason, the configuration: every page in Spanish shows none of segcore's English."""
    from segcore.report import alerts
    from tests.helpers import page
    from tests.pace_seed import seed_pace

    db = spanish_app.work
    seed_pace(db)
    moves = alerts.current_alerts(db).moves
    alerts.apply_moves(db, [m for m in moves if m.id == "batch_7"], "test")
    fragments = english_fragments()
    moves_page = page("moves").run()
    assert english_left(moves_page, fragments) == []
    assert "lo terminaría el" in page_texts(moves_page)  # the moves are there, in Spanish
    for name, at in (
        ("moves", moves_page),
        ("dashboard", page("dashboard").run()),
        ("team", page("team").run()),
        ("settings", page("settings").run()),
    ):
        assert not at.exception, (name, at.exception)
        assert english_left(at, fragments) == [], name
    batches = page("batches").run()
    batches.text_input(key="history_of").input("batch_7").run()  # the applied move's reason
    assert not batches.exception, batches.exception
    assert "movimiento sugerido: Zoe ya no está en el equipo" in page_texts(batches)
    assert english_left(batches, fragments) == []
    sync_page = page("sync").run()
    sync_page.checkbox(key="sync_full").check().run()
    sync_page.button(key="sync_now").click().run()
    assert not sync_page.exception, sync_page.exception
    assert "Completa (solicitada)" in page_texts(sync_page)  # the run's kind, and why
    assert english_left(sync_page, fragments) == []


def test_progress_messages_are_worded_in_the_readers_language(app_env, monkeypatch):
    from segcore.sync import sync

    messages = []
    sync.run_sync(app_env, full=True, author="test", progress=lambda f, m: messages.append(m))
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    worded = [i18n.word(m) for m in messages]
    assert worded[0] == "Leyendo cargas" and worded[-1] == "Terminado"
    fragments = english_fragments()
    assert [w for w in worded if any(f in w for f in fragments)] == []
    monkeypatch.setattr(i18n, "current_language", lambda: "en")
    assert [i18n.word(m) for m in messages] == [str(m) for m in messages]


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "overdue by 1 day",
                "overdue by 10 days",
                "Bea would finish it by Nov 26, 2026, 3 days after the due date",
            ],
        ),
        (
            "es",
            [
                "vencido hace 1 día",
                "vencido hace 10 días",
                "Bea lo terminaría el 26 nov 2026, 3 días después de la fecha límite",
            ],
        ),
    ],
)
def test_phrases_take_the_plural_and_the_date_of_the_readers_language(
    monkeypatch, language, expected
):
    from segcore.core.phrases import Phrase
    from segcore.report.pace import FINISH_LATE, OVERDUE

    phrases = [
        Phrase(OVERDUE, plural_by="days", days=1),
        Phrase(OVERDUE, plural_by="days", days=10),
        Phrase(FINISH_LATE, plural_by="days", name="Bea", date=date(2026, 11, 26), days=3),
    ]
    monkeypatch.setattr(i18n, "current_language", lambda: language)
    assert [i18n.word(p) for p in phrases] == expected
    # The command line and JSON read the English text; a stored copy reads back the same.
    assert str(phrases[0]) == "overdue by 1 day"
    assert [i18n.word(Phrase.from_doc(p.as_doc())) for p in phrases] == expected


def test_a_phrase_may_name_a_value_count(monkeypatch):
    from segcore.sync.sync import READ_OF

    phrase = Phrase(READ_OF, count=5000, expected=12000)
    assert phrase == "Read 5000 uploads of ~12000"
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    assert i18n.word(phrase) == "Leídas 5,000 cargas de ~12,000"


def test_a_record_stored_before_phrases_keeps_its_english_text():
    from segcore.core.phrases import Phrase
    from segcore.sync.records.sync_runs import full_reason_of

    assert full_reason_of({"full_reason": "requested"}) == "requested"
    assert full_reason_of({}) is None
    assert Phrase.from_doc({"template": "gone {x}", "params": {}}, "as stored") == "as stored"


def test_the_configuration_words_its_placeholders_in_spanish(spanish_app, monkeypatch):
    """One-word placeholders escape the fragment check above: each is looked for by name."""
    from segcore.settings.config_table import EMBEDDED_SERVER, NONE_SET, NOT_CHECKED, NOT_SET
    from tests.helpers import page

    monkeypatch.setenv("NOTIFY_COORDINATORS", "")
    monkeypatch.setenv("NOTIFY_EXCLUDE", "")
    at = page("settings").run()
    assert not at.exception, at.exception
    values = [str(v) for t in at.dataframe for v in t.value.to_numpy().ravel()]
    for english in (NONE_SET, NOT_SET, NOT_CHECKED, EMBEDDED_SERVER):
        assert english not in values, english
    assert "(ninguno)" in values or "(ninguna)" in values


def test_no_text_is_marked_inside_an_f_string():
    """pybabel does not look inside f-strings: `f"{_('Figures')}"` never reached the catalog
    and stayed English on Spanish pages ("Figures", "(none stored)")."""
    import io
    import tokenize

    marked = re.compile(r"\b(_|N_|ngettext|Nn_)\(\s*[rbu]?['\"]")  # a literal, not _(label)
    found = []
    for path in sorted([*ROOT.glob("ui/**/*.py"), *ROOT.glob("segcore/**/*.py")]):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        for token in tokens:
            prefix = token.string[: token.string.find(token.string.lstrip("rRbBuUfF")[:1])]
            if token.type == tokenize.STRING and "f" in prefix.lower():
                if marked.search(token.string):
                    found.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert found == []


@pytest.mark.parametrize(
    "stored, spanish",
    [
        (
            "not a readable image (Truncated File Read)",
            "imagen no legible (Truncated File Read)",
        ),
        (
            "not a readable MetaImage file (truncated or corrupt header)",
            "archivo MetaImage no legible (cabecera truncada o dañada)",
        ),
        ("an encrypted member", "un archivo cifrado"),
        (
            "a DICOM RT Structure Set, not an image mask",
            "un objeto DICOM RT Structure Set, no una máscara de imagen",
        ),
        (
            "not a readable DICOM file (saved without its DICOM file header: no preamble, no "
            "'DICM')",
            "archivo DICOM no legible (guardado sin su cabecera de archivo DICOM: sin preámbulo "
            "ni 'DICM')",
        ),
        ("no reader for .xyz files", "no hay lector para archivos .xyz"),
        (
            "not an image mask: a 0-dimensional array",
            "no es una máscara de imagen: una matriz de 0 dimensiones",
        ),
        (
            "not an image mask: values of type complex128 that no mask holds",
            "no es una máscara de imagen: valores de tipo complex128, que ninguna máscara contiene",
        ),
        (
            "damaged member: its data does not match its checksum",
            "miembro dañado: sus datos no coinciden con su suma de comprobación",
        ),
        (
            "not a readable 7z archive (damaged member: its compressed data is corrupt)",
            "archivo 7z no legible (miembro dañado: sus datos comprimidos están corruptos)",
        ),
        (
            "not a readable tar archive: its compressed data is corrupt",
            "no es un archivo tar legible: sus datos comprimidos están dañados",
        ),
        ("a reason of a library's own", "a reason of a library's own"),
    ],
)
def test_a_content_checks_reason_is_worded_in_spanish_around_the_librarys_words(
    monkeypatch, stored, spanish
):
    """The content checks store their reasons in English; a Spanish page words segcore's own
    part and keeps the library's as it said it."""
    from ui.app import labels

    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    assert labels.read_reason(stored) == spanish
    offender = {"name": "a_mask.png", "code": "unreadable", "params": {"reason": stored}}
    assert labels.offender(offender) == f"a_mask.png: ilegible ({spanish})"


def test_composed_reasons_and_other_file_notes_are_worded_in_spanish(monkeypatch):
    """Reasons a check composes (a zip method no reader has, a link it cannot follow)
    and the notes a listing puts on an upload's other files are stored in English; a Spanish
    page words them, made by the code that stores them, not copied here."""
    from segcore.archives.archive_links import LINK_NOT_READ, LINK_OUTSIDE, resolve_links
    from segcore.archives.archive_listing import EMPTY_MEMBER
    from segcore.content.formats.read_reasons import UNSUPPORTED_METHOD
    from segcore.images.image_copies import COPY_MEMBER
    from ui.app import labels

    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    assert labels.read_reason(UNSUPPORTED_METHOD.format(method="Implode")) == (
        "comprimido con Implode, que esta comprobación no puede leer"
    )
    # a linked mask the content check could not follow, as the scan stores it
    assert labels.read_reason(LINK_OUTSIDE.format(target=repr("/etc/passwd"))) == (
        "un enlace a '/etc/passwd', fuera del comprimido"
    )
    assert labels.read_reason(LINK_NOT_READ.format(target=repr("store/a.png"))) == (
        "un enlace a 'store/a.png', que no es una máscara leída por esta comprobación"
    )
    _, notes = resolve_links([("m/a_mask.png", 0, "crc", 1, "/etc/passwd")])
    assert labels.other_file(notes[0][1]) == (
        "a_mask.png (un enlace a /etc/passwd, fuera del comprimido)"
    )
    copy = COPY_MEMBER.format(name="img 1.png")
    assert labels.other_file(copy) == "img 1.png (una copia de su imagen, no una máscara)"
    assert labels.other_file(EMPTY_MEMBER.format(name="x.png")) == "x.png (0 bytes)"
    assert labels.other_file("notes.txt") == "notes.txt"
