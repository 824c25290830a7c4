"""The interface's language: gettext catalogs for every text, Babel for dates and numbers.

Texts are written in English in the code, wrapped in `_()` (or `N_()` where the text is only
marked, to be translated later), and translated from `locales/<lang>/LC_MESSAGES/messages.po`.
The `.po` sources are compiled in memory on first use, so there is no build step and no
compiled file to keep in step. English is the fallback for any text a catalog lacks.

Stored values (`alta`, `pending`, `S`, field names) never change: they are labelled in the
chosen language where they are shown (`value_label`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta

import streamlit as st
from babel import Locale, dates, numbers
from streamlit.runtime.scriptrunner import get_script_run_ctx

from segcore.core.errors import SegcoreError
from segcore.core.phrases import Phrase
from segcore.core.timefmt import to_office
from segcore.core.translations import (
    BABEL_LOCALES,
    LANGUAGES,  # noqa: F401
    medium_date,
    translations,
)
from ui.app.connection import language_setting, settings

DEFAULT = "es"
STATE_KEY = "language"  # session-state key holding the user's choice
# The language of work Streamlit runs after the page script, where no session is at hand.
_SPOKEN: ContextVar[str | None] = ContextVar("spoken_language", default=None)


def current_language() -> str:
    """The session's language: the user's choice, else the LANGUAGE setting.

    Outside a Streamlit run (unit tests of pure helpers, scripts) texts stay as written,
    unless `speaking` names the language.
    """
    spoken = _SPOKEN.get()
    if spoken in LANGUAGES:
        return spoken
    if get_script_run_ctx(suppress_warning=True) is None:
        return "en"
    chosen = st.session_state.get(STATE_KEY)
    if chosen in LANGUAGES:
        return chosen
    try:
        return settings().language
    except SegcoreError:  # a broken configuration is reported by the page, in words: in
        # LANGUAGE's when that setting itself is sound
        return language_setting() or DEFAULT


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Texts, dates and numbers in `language` within the block: for a download button's data,
    made on click outside the page script, where the session's choice cannot be read."""
    token = _SPOKEN.set(language)
    try:
        yield
    finally:
        _SPOKEN.reset(token)


def _(text: str) -> str:
    """`text` in the session's language."""
    return translations(current_language()).gettext(text)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a text for `count`, in the session's language."""
    return translations(current_language()).ngettext(singular, plural, count)


def N_(text: str) -> str:
    """Mark `text` for the catalog without translating it now (module-level labels)."""
    return text


def choice_hint(options, many: bool = False) -> str:
    """What a select box shows before a choice, in the page's language: Streamlit's own
    ("Choose an option", "No options to select") are English whatever the page speaks."""
    if not len(options):
        return _("Nothing to choose from")
    return _("Choose options") if many else _("Choose an option")


# Streamlit draws "Press Enter to submit form" under a form's field in English whatever the
# page speaks, and takes no text for it. `enter_to_submit=False` would drop the hint but also
# Enter itself (a login typed and sent with Enter): keep Enter, hide the hint.
_NO_ENTER_HINT = (
    "<style>[data-testid='stForm'] [data-testid='InputInstructions']{display:none}</style>"
)


def hide_form_enter_hint() -> None:
    """Hide Streamlit's English "Press Enter to submit form" in the forms of this page; Enter
    still submits. Call on the page that draws an `st.form`."""
    st.html(_NO_ENTER_HINT)


def babel_locale() -> Locale:
    return Locale.parse(BABEL_LOCALES[current_language()])


def format_number(value: float | int, decimals: int = 0) -> str:
    """A number with the locale's separators (1,234 / 1 234 / 1.234)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return numbers.format_decimal(value, format=pattern, locale=babel_locale())


def format_percent(fraction: float, decimals: int = 0) -> str:
    """A fraction (0.41) as a percentage in the locale's style ("41 %" / "41%")."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return numbers.format_percent(fraction, format=pattern, locale=babel_locale())


def format_date(value: date | datetime | None) -> str:
    """A date in the locale's medium format; blank for none."""
    if value is None:
        return ""
    return medium_date(value, babel_locale())


def format_datetime(value: datetime | None) -> str:
    """A stored (UTC) date and time in the office's zone and the locale's style; blank for
    none. Babel alone would show it in UTC: another day than every other screen after 23:00."""
    if value is None:
        return ""
    local = to_office(value, settings().zone)
    if local is None:  # not a date anyone can place in time: shown as stored
        return str(value)
    return dates.format_datetime(local, format="medium", tzinfo=local.tzinfo, locale=babel_locale())


# How a date widget (st.date_input, a grid's DateColumn) writes dates: Streamlit takes a
# moment.js pattern, not a locale, and its calendar's month and day names stay English.
DATE_FORMATS = {"es": "DD/MM/YYYY", "en": "YYYY-MM-DD"}


def date_format() -> str:
    """The date widgets' pattern for the session's language."""
    return DATE_FORMATS.get(current_language(), "YYYY-MM-DD")


def datetime_format() -> str:
    """A grid's date-and-time column's pattern: its dates as the date widgets write them."""
    return date_format() + " HH:mm"


def format_age(delta: timedelta) -> str:
    """How long ago, in words ("12 minutes ago" / "hace 12 minutos")."""
    # At least a second: Babel words zero (or a clock a hair behind) as "in 0 seconds".
    return dates.format_timedelta(
        -max(delta, timedelta(seconds=1)), add_direction=True, locale=babel_locale()
    )


def word(value: object) -> str:
    """A text segcore computed (a `Phrase`) in the session's language, its dates and numbers
    in the locale's style; any other value (a text stored before phrases) as it is."""
    if value is None:
        return ""
    if not isinstance(value, Phrase):
        return value if isinstance(value, str) else str(value)
    catalog = translations(current_language())
    count = int(value.params.get(value.plural_by, 0)) if value.plural is not None else 0
    text = (
        catalog.ngettext(value.template, value.plural, count)
        if value.plural is not None
        else catalog.gettext(value.template)
    )
    return text.format(**{k: _worded_value(v) for k, v in value.params.items()})


def _worded_value(value: object) -> object:
    if isinstance(value, Phrase):
        return word(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return format_number(value, 0 if isinstance(value, int) else 1)
