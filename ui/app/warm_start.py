"""What a freshly started app does before its first visitor (see serve.py)."""

from __future__ import annotations

import contextlib
import importlib

from pymongo.errors import PyMongoError

from segcore.core.errors import SegcoreError

# The modules the Dashboard, Batches and Team pages import on their first run.
PAGE_MODULES = (
    "ui.app.widgets",
    "ui.dashboard.charts",
    "ui.dashboard.attention",
    "ui.dashboard.dashboard_demo",
    "ui.batches.batch_grid",
    "ui.batches.batch_actions",
    "ui.team.team_actions",
    "ui.app.live",
)


def import_pages() -> None:
    """Import every module the pages import on their first run, before any page runs (see
    serve.py): an import racing a page's run can leave the page a half-imported module."""
    for name in ("ui.app.reads", *PAGE_MODULES):
        importlib.import_module(name)


def warm_up() -> None:
    """Start reading the batch list, then make today's alerts (the pace analysis the
    Dashboard and Team pages show, kept per data and day).

    A failure is not reported here (no page is shown yet): the first page reads again and
    says what is wrong.
    """
    from ui.app import reads

    with contextlib.suppress(PyMongoError, SegcoreError):
        reads.prefetch_batch_rows()
    with contextlib.suppress(PyMongoError, SegcoreError):
        reads.warm_alerts()
