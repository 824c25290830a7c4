"""segcore: the logic of the segmentation work dashboard, with no user interface of its own.

The Streamlit pages and the command line import the modules they need (`segcore.team.team`,
`segcore.sync.sync`, ...); segcore never imports Streamlit. The few names below are the entry points
a script needs, loaded on first use so that `import segcore` costs nothing: a cron job pays for
every import.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_settings": "segcore.settings.config",
    "open_databases": "segcore.store.connection",
    "prepare": "segcore.prepare",
    "run_sync": "segcore.sync.sync",
    "SegcoreError": "segcore.core.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'segcore' has no attribute {name!r}")
