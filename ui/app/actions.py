"""Errors as messages, messages that survive a rerun, and the one path every write takes.

Reads go through `guarded` (an outage stops the page with a Retry) or `optional` (the part of
the page that needs the data says so, the rest goes on). Writes go through `run_write` only:
every failure becomes one message in place and the page stays usable; a success clears the
data version and reports once after the rerun.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable

import streamlit as st
from pymongo.errors import PyMongoError

from segcore.core.errors import (
    ConfigError,
    DatabaseUnavailable,
    EmbeddedServerError,
    SegcoreError,
    SyncAlreadyRunning,
)
from segcore.core.phrases import Phrase
from segcore.store.connection import friendly_errors, scrub
from ui.app.connection import forget_data_versions, uri_or_none
from ui.app.i18n import _, format_datetime, word
from ui.app.state import BATCH_SNAPSHOT, FLASH, OUTAGE_SHOWN

# Errors after which nothing on the page can be read: the page stops with a Retry.
STOPPING_ERRORS = (DatabaseUnavailable, EmbeddedServerError, ConfigError, PyMongoError)
# Everything a write may fail with that a user should read as a sentence, not a traceback.
WRITE_ERRORS = (SegcoreError, PyMongoError, OSError)


def worded(exc: BaseException) -> str:
    """A segcore error's own message in the session's language (its template translated and
    filled in); the English text for a message that has no template."""
    template, params = getattr(exc, "template", None), dict(getattr(exc, "params", {}) or {})
    if not template:
        return str(exc)
    # a value segcore words itself ("line 5" of a file): in the session's language too
    params = {k: word(v) if isinstance(v, Phrase) else v for k, v in params.items()}
    if isinstance(params.get("since"), datetime):  # a time segcore says in UTC: the office's
        params["time"] = format_datetime(params["since"])
    problems = getattr(exc, "problems", None)  # a refused save: each problem worded too
    if problems:
        params["problems"] = "; ".join(
            f"{batch_id}: {worded(problem)}" for batch_id, problem in problems
        )
    text = _(template)
    return text.format(**params) if params else text


def describe_error(exc: BaseException) -> str:
    """A sentence a coordinator understands, never a traceback nor a password."""
    if isinstance(exc, ConfigError):
        return _("The configuration is not valid: {problem}").format(problem=worded(exc))
    if isinstance(exc, (DatabaseUnavailable, EmbeddedServerError)):
        return _("The database is not available: {problem}").format(problem=worded(exc))
    if isinstance(exc, PyMongoError):
        return _("The database answered with an error: {problem}").format(
            problem=scrub(str(exc).split("\n")[0][:200], uri_or_none())
        )
    if isinstance(exc, OSError):
        return _("A file or folder could not be used: {problem}").format(problem=exc)
    return worded(exc)


def show_error(exc: BaseException, slot=None) -> None:
    """Show an error in `slot` (default: in place); a busy sync is a warning, not an error.

    `slot` may be a dict from field name to slot: a validation error goes next to its field.
    """
    if isinstance(slot, dict):
        slot = slot.get(getattr(exc, "field", None)) or next(iter(slot.values()))
    target = slot if slot is not None else st
    if isinstance(exc, SyncAlreadyRunning):
        target.warning(worded(exc), icon=":material/hourglass_top:")
    elif isinstance(exc, SegcoreError) and not isinstance(exc, STOPPING_ERRORS):
        target.error(worded(exc), icon=":material/error:")
    else:
        text = describe_error(exc)
        if slot is None and st.session_state.get(OUTAGE_SHOWN) == text:
            return  # said once on this run already (a failed write, then the read after it)
        st.session_state[OUTAGE_SHOWN] = text
        target.error(text, icon=":material/cloud_off:")


def clear_caches() -> None:
    """Read everything again (Retry, Reload): every cached read, the batch rows, the snapshot.

    Not for writes: a write bumps the data version of what it touched (`after_write`).
    """
    st.cache_data.clear()
    after_write()


def after_write() -> None:
    """After a write: this process sees its new data version at once, and the batch editor's
    snapshot is read again. Cached reads of other data, and other users' caches, stay."""
    forget_data_versions()
    st.session_state[BATCH_SNAPSHOT] = None


def fail(exc: BaseException) -> None:
    """The page cannot go on: say why, offer a retry, and stop this run."""
    show_error(exc)
    if st.button(_("Retry"), key="retry_connection", icon=":material/refresh:"):
        clear_caches()
        st.rerun()
    st.stop()


@contextmanager
def guard():
    """Turn an unreachable database (or bad configuration) into a message and a retry."""
    try:
        with friendly_errors(uri_or_none()):
            yield
    except STOPPING_ERRORS as exc:
        fail(exc)


def guarded(function, *args, **kwargs):
    """Call a read; on an unreachable database, show the message and stop the page."""
    with guard():
        return function(*args, **kwargs)


def optional(function, *args, **kwargs) -> tuple[Any, str | None]:
    """Call a read; on a database error return (None, message) instead of stopping.

    For parts of a page that need `training_metrics` while the rest only needs the app's own
    database.
    """
    try:
        with friendly_errors(uri_or_none()):
            return function(*args, **kwargs), None
    except STOPPING_ERRORS as exc:
        return None, describe_error(exc)


def flash(kind: str, text: str) -> None:
    """Queue a message ("success", "warning", "error", "info") shown after the next rerun."""
    st.session_state.setdefault(FLASH, []).append((kind, text))


def show_flash() -> None:
    """Show, once, the messages queued before the last rerun."""
    messages = st.session_state.get(FLASH) or []
    st.session_state[FLASH] = []
    for kind, text in messages:
        getattr(st, kind)(text)


def run_write(
    label: str,
    function: Callable,
    *args,
    then: Callable[[Any], str | None] | str | None = None,
    slot=None,
    **kwargs,
) -> None:
    """Run one segcore write: the only way the UI changes anything.

    `function(*args, **kwargs)` runs under a spinner saying `label` (already translated). Any
    failure (a named segcore error, refused input, an outage, a driver error, a bad setting, a
    file problem) becomes one message in `slot` (see `show_error`) and this returns, leaving
    the page usable. On success the data version is read again (`after_write`), `then(result)`
    runs (it may keep a report in the session or close a dialog) and returns the success
    message, already translated (a plain string works too; None when `then` queued its own
    messages), which is shown once after the rerun.
    """
    try:
        with st.spinner(f"{label}…"), friendly_errors(uri_or_none()):
            result = function(*args, **kwargs)
    except WRITE_ERRORS as exc:
        show_error(exc, slot)
        return
    after_write()
    message = then(result) if callable(then) else then
    if message:
        flash("success", message)
    st.rerun()
