"""Texts segcore computes for people (a move's reason, why a sync read everything, progress),
kept as a template and its values so each reader gets them in their own language.

A `Phrase` is a `str` holding the English text, so the command line, JSON and logs use it as
they always did; the app words its template through the catalog (`ui.app.i18n.word`), with the
plural form its count needs. Templates are marked for the catalog with `N_` or, for plurals,
`Nn_`. Stored alongside an English field as `Phrase.as_doc()`, a phrase is read back with
`Phrase.from_doc`; a record written before phrases existed keeps its English text.
"""

from __future__ import annotations

from datetime import date, datetime

from segcore.core.errors import N_

__all__ = ["N_", "Nn_", "Phrase", "text_of", "DONE", "READING_UPLOADS"]

# Progress messages more than one long operation reports.
DONE = N_("Done")
READING_UPLOADS = N_("Reading uploads")


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular and a plural template for the catalog; returns them as a pair."""
    return singular, plural


class Phrase(str):
    """The English text of a template filled in, carrying the template and its values.

    `plural_by` names the parameter whose number chooses between `template` and `plural`.
    """

    template: str
    plural: str | None
    plural_by: str | None
    params: dict

    def __new__(
        cls, template: str | tuple[str, str], plural_by: str | None = None, **params: object
    ) -> "Phrase":
        singular, plural = template if isinstance(template, tuple) else (template, None)
        chosen = plural if plural is not None and params.get(plural_by) != 1 else singular
        english = chosen.format(**{k: _english(v) for k, v in params.items()})
        self = super().__new__(cls, english)
        self.template, self.plural, self.plural_by, self.params = (
            singular,
            plural,
            plural_by,
            params,
        )
        return self

    def __reduce__(self):  # pickled by Streamlit's caches: keep the template, not only the str
        return _rebuild, (self.as_doc(),)

    def as_doc(self) -> dict:
        """A BSON-friendly form (a day as {"date": ISO}) to store next to the English text."""
        doc = {
            "template": self.template,
            "params": {
                k: (
                    v.as_doc()
                    if isinstance(v, Phrase)
                    else {"date": v.isoformat()}
                    if _is_day(v)
                    else v
                )
                for k, v in self.params.items()
            },
        }
        if self.plural is not None:
            doc |= {"plural": self.plural, "plural_by": self.plural_by}
        return doc

    @classmethod
    def from_doc(cls, doc: object, english: object = None) -> "str | Phrase | None":
        """The phrase stored as `doc`; `english` (the stored text) when there is no usable doc."""
        if not isinstance(doc, dict) or not isinstance(doc.get("template"), str):
            return english if english is None or isinstance(english, str) else str(english)
        params = {
            k: (
                _day_of(v)
                if isinstance(v, dict) and "date" in v
                else cls.from_doc(v)
                if isinstance(v, dict)
                else v
            )
            for k, v in (doc.get("params") or {}).items()
        }
        template = (
            (doc["template"], doc["plural"])
            if isinstance(doc.get("plural"), str)
            else doc["template"]
        )
        try:
            return cls(template, plural_by=doc.get("plural_by"), **params)
        except (KeyError, IndexError, ValueError):  # a template it was not written for
            return english if isinstance(english, str) else doc["template"]


def _rebuild(doc: dict) -> Phrase:
    return Phrase.from_doc(doc)


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _day_of(doc: dict) -> object:
    """A day stored as {"date": ISO} (BSON has no plain date); the text if it is not one."""
    try:
        return date.fromisoformat(str(doc["date"]))
    except ValueError:
        return str(doc["date"])


def _english(value: object) -> object:
    return value.isoformat() if _is_day(value) else value


def text_of(value: object) -> str:
    """`value` as plain English text (a phrase's own text, anything else as str)."""
    return str.__str__(value) if isinstance(value, Phrase) else str(value)
