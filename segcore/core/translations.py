"""The Spanish and English catalogs, for texts segcore words itself (emails, chat messages, the
weekly report), and for the interface, which reads the same catalogs (`ui.app.i18n`).

The `.po` sources are compiled in memory on first use: no build step, no compiled file to keep
in step. English is the fallback for any text a catalog lacks.
"""

from __future__ import annotations

import functools
import gettext
from datetime import date, datetime, timezone, tzinfo
from io import BytesIO
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from segcore.core.phrases import Phrase
from segcore.core.timefmt import to_office

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
LANGUAGES = {"es": "Español", "en": "English"}
BABEL_LOCALES = {"es": "es_MX", "en": "en"}


def medium_date(value: date, locale: Locale | str) -> str:
    """`value` (a date, or a datetime's own day) in `locale`'s medium format ("Nov 26, 2026",
    "26 nov 2026"); a year before 1000 (a legacy `0001-01-01` another tool stored) as stored,
    in ISO form: the medium format drops the year's zeros ("Jan 1, 1"), which reads as no
    date at all."""
    day = value.date() if isinstance(value, datetime) else value
    if day.year < 1000:
        return day.isoformat()
    return dates.format_date(day, format="medium", locale=locale)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language` (English, or an unknown code: the texts as written)."""
    source = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or language not in BABEL_LOCALES or not source.is_file():
        return gettext.NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=BABEL_LOCALES[language])
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Words:
    """Texts, numbers and dates in one language, for code that writes for a reader who is not
    the session's user (an email's recipient)."""

    def __init__(self, language: str, zone: tzinfo | None = timezone.utc):
        """`zone`: the office's, whose day a stored (UTC) moment falls on (None: the
        server's zone, as `timefmt.to_office`)."""
        self.language = language if language in BABEL_LOCALES else "en"
        self.zone = zone
        self.catalog = translations(self.language)
        self.locale = Locale.parse(BABEL_LOCALES[self.language])

    def gettext(self, text: str) -> str:
        return self.catalog.gettext(text)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.catalog.ngettext(singular, plural, count)

    def day(self, value: date | datetime | None) -> str:
        """A date in the language's medium format; "-" for none. A stored (UTC) moment is
        the day it falls on in the office's zone (21:00 in Mexico City is 03:00 UTC the next
        day); one that cannot be shown (`timefmt.to_office`) is "-"."""
        if value is None:
            return "-"
        if isinstance(value, datetime):
            local = to_office(value, self.zone)
            if local is None:
                return "-"
            value = local.date()
        return medium_date(value, self.locale)

    def moment(self, value: datetime | None, zone: tzinfo | None) -> str:
        """A stored (UTC) time in `zone` (the office's), in the language's medium format; "-"
        for none."""
        local = to_office(value, zone)
        if local is None:
            return "-"
        return dates.format_datetime(
            local, format="medium", tzinfo=local.tzinfo, locale=self.locale
        )

    def number(self, value: float, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return numbers.format_decimal(value, format=pattern, locale=self.locale)

    def phrase(self, value: object) -> str:
        """A text segcore computed (a `Phrase`) in this language, with the plural its count
        needs; any other value (a text stored before phrases) as it is. The interface's
        counterpart is `ui.app.i18n.word`."""
        if not isinstance(value, Phrase):
            return "" if value is None else str(value)
        if value.plural is None:
            text = self.gettext(value.template)
        else:
            count = int(value.params.get(value.plural_by, 0))
            text = self.ngettext(value.template, value.plural, count)
        return text.format(**{k: self._value(v) for k, v in value.params.items()})

    def _value(self, value: object) -> object:
        if isinstance(value, Phrase):
            return self.phrase(value)
        if isinstance(value, (date, datetime)):
            return self.day(value)
        return value
