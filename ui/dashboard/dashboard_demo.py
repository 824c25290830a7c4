"""The dashboard's offer of demo data on a newcomer's empty embedded database."""

from __future__ import annotations

import streamlit as st

from segcore import demo
from ui.app import reads
from ui.app.actions import run_write
from ui.app.connection import databases, settings
from ui.app.i18n import _
from ui.app.state import DEMO_CONFIRM, current_actor, forget


def offer_demo() -> None:
    """On an empty embedded database without DATA_DIRECTORY, offer (after asking) the demo;
    wherever a demo load was interrupted, offer to finish it."""
    current = settings()
    if reads.interrupted_demo() is not None:
        _offer_to_finish()
        return
    if not current.embedded or current.data_directory is not None:
        return
    if not reads.demo_state()["can_load"]:
        return
    st.info(
        _(
            "The database is empty. You can load clearly labelled demo data to look around, "
            "or import your batch list from the Settings page."
        ),
        icon=":material/info:",
    )
    if st.button(_("Load demo data…"), key="demo_ask"):
        st.session_state[DEMO_CONFIRM] = True
    if st.session_state.get(DEMO_CONFIRM):
        _confirm_demo()


def _offer_to_finish() -> None:
    """A demo load that was interrupted (the banner says so): finish it here. One still under
    way is refused by the load itself, in a sentence."""
    if st.button(_("Finish loading the demo"), key="demo_finish"):
        run_write(
            _("Loading demo data"),
            demo.load_demo,
            databases(),
            settings().demo_directory,  # unused: the interrupted load's folder is kept
            author=current_actor(),
            then=_loaded,
        )


def _loaded(result: dict) -> str:
    st.session_state[DEMO_CONFIRM] = False
    return _("Demo loaded: {batches} batches, a team of {team}, {uploads} uploads.").format(
        batches=result["batches"], team=result["team"], uploads=result["uploads"]
    )


def _confirm_demo() -> None:
    # The dialog's title is translated when it opens, so it follows the session's language.
    st.dialog(_("Load demo data?"), on_dismiss=lambda: forget(DEMO_CONFIRM))(_demo_question)()


def _demo_question() -> None:
    current = settings()
    st.write(
        _(
            "This creates 300 made-up batches, a team of five and mask uploads in the empty "
            "database, and their folders under `{folder}`."
        ).format(folder=current.demo_directory)
    )
    left, right = st.columns(2)
    if left.button(_("Load the demo"), type="primary", key="demo_yes"):
        run_write(
            _("Loading demo data"),
            demo.load_demo,
            databases(),
            current.demo_directory,
            author=current_actor(),
            then=_loaded,
        )
    if right.button(_("Cancel"), key="demo_no"):
        st.session_state[DEMO_CONFIRM] = False
        st.rerun()
