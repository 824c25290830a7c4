"""A select box a button acts on: the option the user chose, as the screen showed it.

A click reruns the page, and that run reads the data again. When the option chosen has gone
meanwhile (the batch moved on, the login or the member was removed), Streamlit draws the box
on its first option and returns that one: a button would then act on an item the user never
chose. `held_choice` returns what was chosen and says that it has gone; the caller refuses
the action (`refuse_gone`) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from ui.app.i18n import _, choice_hint
from ui.app.labels import literal


@dataclass(frozen=True)
class Choice:
    """What the user chose in a select box, and whether it is still among the options."""

    value: Any  # the option chosen on the screen (None: nothing chosen)
    label: str  # how the box showed it
    gone: bool = False  # chosen on the screen, no longer among the options


def held_choice(
    box, label: str, options: list, key: str, format_func: Callable[[Any], str] = str, **kwargs
) -> Choice:
    """Draw a select box (`box`: `st` or a column) and return what the user chose in it.

    The value the session holds before the box is drawn is the one the browser showed: when it
    is no longer among `options`, the choice has gone (the box falls back to its first option,
    which nobody chose) and `gone` is True.
    """
    before = st.session_state.get(key)
    hint = kwargs.pop("placeholder", None) or choice_hint(options)
    value = box.selectbox(
        label, options, key=key, format_func=format_func, placeholder=hint, **kwargs
    )
    if before is not None and before not in options:
        return Choice(before, format_func(before), gone=True)
    return Choice(value, "" if value is None else format_func(value))


def refuse_gone(choice: Choice, slot=None) -> None:
    """Say that the chosen item is no longer offered and that nothing was changed."""
    (slot if slot is not None else st).error(
        _(
            "{choice} is no longer among the choices (it changed meanwhile): nothing was changed."
        ).format(choice=literal(choice.label)),
        icon=":material/error:",
    )
