"""Preparing the app's database once per process: indexes, and keys for legacy members."""

from __future__ import annotations

from segcore.masks import receipts
from segcore.notify import notify_outbox
from segcore.store import history
from segcore.store.connection import Databases
from segcore.sync import sync_runs
from segcore.team import auth, team
from segcore.work import batches


def prepare(databases: Databases) -> list[str]:
    """Create the indexes segcore relies on and number unnumbered batches; never writes to the
    training database.

    Returns warnings for the user (legacy team members whose names collide).
    """
    db = databases.work
    batches.ensure_indexes(db)
    batches.backfill_numbers(db)
    sync_runs.ensure_indexes(db)
    history.ensure_indexes(db)
    auth.ensure_indexes(db)
    notify_outbox.ensure_indexes(db)
    receipts.ensure_indexes(db)
    collisions = team.ensure_indexes(db)
    return [
        f"Team member '{name}' has the same name as another one (up to case, accents or "
        f"spacing); rename or remove one of them."
        for name in collisions
    ]
