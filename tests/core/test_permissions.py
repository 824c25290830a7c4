"""Every segcore write checks the actor's role before it writes: each one, called by a viewer,
raises PermissionDenied and leaves both databases exactly as they were.

The writes are found, not listed by hand: every public function or method of a segcore module
that takes an `author` (a name or an Actor), plus every one whose own code writes to the
database. Each must be called below with a viewer, or be named in NOT_A_USER_WRITE with the
reason; a new write that is neither fails `test_every_write_is_covered`.
"""

import importlib
import inspect
import pkgutil
import re
from datetime import date
from pathlib import Path

import bson
import pytest
from gridfs import GridFS

import segcore
from segcore.core.actors import Actor
from segcore.core.errors import PermissionDenied

VIEWER = Actor("Vera", "viewer")
WRITE_CALL = re.compile(
    r"\.(insert_one|insert_many|update_one|update_many|replace_one|"
    r"delete_one|delete_many|bulk_write|find_one_and_\w+|drop_collection|"
    r"drop|create_index|rename|put|upload_from_stream)\("
    r"|\b(delete_in|replace_many)\("  # segcore.store.schema's helpers around those
)

# Writes that are not a user's change, each with why no role check belongs in it.
_SETUP = "index and field set-up run by prepare() at start, not a user's change"
_INNER = "a step of a write whose entry point checks the role first"
NOT_A_USER_WRITE = {
    **{
        f"{m}.ensure_indexes": _SETUP
        for m in (
            "auth",
            "batches",
            "history",
            "sessions",
            "sync_runs",
            "team",
            "receipts",
            "notify_outbox",
            "listing_store",
        )
    },
    "prepare_stamp.mark_prepared": _SETUP,
    "database_id.database_id": "the database's own id, made once by its first backup (a "
    "download's too), not a user's change",
    "auth.authenticate": "login bookkeeping (failures, last login): any user logs in",
    "sessions.start_session": "a viewer's own login session",
    "sessions.end_session": "a viewer's own logout",
    "sessions.end_all_sessions": "called by set_password/remove_user after their check",
    "auth.remove_logins": "called by handover.remove_member after its check",
    "backup_restore.recover": "called by restore_backup after its check",
    "backup_collections.copy_capped": "a restore's staging copy, called by restore_backup after its check",
    "auth.set_language": "a user's own interface language, a viewer's too",
    "actors.authorize_write": "the check itself",
    "write_wait.bulk_write": "the bounded wait around a write, called by writes after their check",
    "row_snapshot.save": "a copy of the batch rows for the app's next start, made by any "
    "page view (a viewer's too): no user's change",
    **{
        name: _INNER
        for name in (
            "schema.replace_many",
            "schema.delete_in",
            "data_version.bump",
            "data_version.bump_batches",
            "history.record",
            "history.withdraw",
            "sync_index.append_journal",
            "sync_index.write_index",
            "sync_lease.Lease.acquire",
            "sync_lease.Lease.renew",
            "sync_lease.Lease.keep",
            "sync_lease.Lease.hold",
            "sync_lease.Lease.note_change",
            "sync_lease.Lease.release_quietly",
            "sync_runs.start_run",
            "sync_runs.finish_run",
            "sync_runs.fail_run",
            "sync_runs.LiveRecord.add",
            "sync_runs.LiveRecord.summarise",
            "upload_stats.stamp",
            "sync_state.SyncState.save",
            "intake.make_receipts",
            "review.apply_moves",
            # the status moves a check's verdict owes (a product-set rework cleared), made
            # by verify, the content checks and the syncs after their checks
            "review.moves_after_checks",
            "sync_apply.after_removal",  # a sync's step after uploads were deleted
            "sync_runs.prune",  # old run records dropped by the sync that writes a new one
            "restore_marker.count_swap",  # a restore's own bookkeeping, after its check
            # a check's results into its receipts, and the notifications they owe: called by
            # verify, the content checks, the syncs and `notify --send-due` after their checks
            "receipts.apply_content",
            "receipts.mark_removed",
            "notify_due.enqueue_stored_receipts",
            # the listings and receipts a sync or `verify` stores, after their checks
            "batch_images.save_listings",
            "listing_store.list_and_store",
            "receipts.save_receipts",
            "owed_receipts.store",
            # a sync's step after uploads were deleted: the content sums of their batches
            "mask_content_check.forget_uploads",
            # what a content check owes, marked and settled by the syncs and checks after
            # their own checks (content_step.check_and_tell checks first)
            "content_due.mark",
            "content_due.mark_every",
            "content_due.settle",
            # the copies a content check found by their pixels, carried into the listings,
            # batches and receipts by the content step after its check
            "resaved_images.count_as_copies",
            # the same copies carried into an upload's new listing by verify and the syncs'
            # checks of new uploads, after their checks
            "found_copies.keep_found",
        )
    },
    # the outbox is written by the syncs, checks and commands that enqueue or send, after their
    # own checks; a resend from the Notifications page goes through notify_due.resend_now
    **{
        f"notify_outbox.{name}": _INNER
        for name in ("claim", "enqueue", "mark_failed", "mark_sent", "resend", "retry_waiting")
    },
}


def _public_callables(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and not attr.startswith("_"):
                    yield f"{name}.{attr}", member


def _modules():
    for info in pkgutil.walk_packages(segcore.__path__, "segcore."):
        if ".cli" not in info.name and not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def _defining_module(name: str):
    """The module that defines "module.function" (also once modules sit in packages)."""
    short, function = name.split(".")[:2]
    return next(
        m
        for m in _modules()
        if m.__name__.rsplit(".", 1)[-1] == short
        and getattr(getattr(m, function, None), "__module__", None) == m.__name__
    )


def discovered_writes() -> set[str]:
    """ "module.function" (the module's last name, so a move into a package changes nothing)."""
    found = set()
    for module in _modules():
        short = module.__name__.rsplit(".", 1)[-1]
        for name, function in _public_callables(module):
            takes_author = "author" in inspect.signature(function).parameters
            if takes_author or WRITE_CALL.search(inspect.getsource(function)):
                found.add(f"{short}.{name}")
    return found


def _backup_file(dbs, tmp_path) -> Path:
    from segcore.backups.backup import write_backup

    path = tmp_path / "copy.jsonl.gz"
    with open(path, "wb") as stream:
        write_backup(dbs.work, stream)
    return path


def _batches_file(tmp_path) -> Path:
    path = tmp_path / "batches.json"
    path.write_text('["batch_1", "batch_77"]')
    return path


CALLS = {  # each write as a viewer would call it, on data where a coordinator's call writes
    "alerts.apply_moves": lambda m, d, t, who: m.apply_moves(
        d.work, [m.Move("batch_1", "Flor", "Ceci", "late", None, None, date(2030, 1, 1))], who
    ),
    "assignments.apply_edits": lambda m, d, t, who: m.apply_edits(
        d.work, [m.Edit("batch_1", "assignee", "Flor", "Ceci")], who
    ),
    "assignments.assign": lambda m, d, t, who: m.assign(d.work, ["batch_1"], "Ceci", who),
    "assignments.set_fields": lambda m, d, t, who: m.set_fields(
        d.work, ["batch_1"], {"status": "review"}, who
    ),
    "assignments.balance_pending": lambda m, d, t, who: m.balance_pending(d.work, ["Ceci"], who),
    "assignments.assign_next_pending": lambda m, d, t, who: m.assign_next_pending(
        d.work, 1, "Ceci", who
    ),
    "backup_restore.restore_backup": lambda m, d, t, who: m.restore_backup(
        d.work, _backup_file(d, t), who, replace=True
    ),
    "batch_import.import_batches": lambda m, d, t, who: m.import_batches(
        d.work, [m.BatchEntry("batch_77", None)], who
    ),
    "batch_import.import_from_sources": lambda m, d, t, who: m.import_from_sources(
        d.work, _batches_file(t), None, who
    ),
    "demo.load_demo": lambda m, d, t, who: m.load_demo(d, t / "demo", who, count=5),
    "handover.remove_member": lambda m, d, t, who: m.remove_member(
        d.work, "Flor", unassign=True, author=who
    ),
    "handover.move_open_batches": lambda m, d, t, who: m.move_open_batches(
        d.work, "Flor", "Ceci", who
    ),
    "mask_check.verify": lambda m, d, t, who: m.verify(
        d, every_batch=True, recheck=True, author=who
    ),
    "mask_content_check.check_content": lambda m, d, t, who: m.check_content(
        d, recheck=True, author=who
    ),
    "content_step.check_and_tell": lambda m, d, t, who: m.check_and_tell(
        d, tell=lambda ids: None, recheck=True, author=who
    ),
    "sync.run_sync": lambda m, d, t, who: m.run_sync(d, full=True, author=who),
    "sync.sync_once": lambda m, d, t, who: m.sync_once(d, full=True, author=who),
    "routine.sync_if_unchanged": lambda m, d, t, who: m.sync_if_unchanged(d, author=who),
    "team.add_member": lambda m, d, t, who: m.add_member(d.work, "Nadia", author=who),
    "team.edit_member": lambda m, d, t, who: m.edit_member(
        d.work, "Flor", role="Revisor", author=who
    ),
    "team.delete_member": lambda m, d, t, who: m.delete_member(d.work, "Ceci", who),
    "auth.add_user": lambda m, d, t, who: m.add_user(
        d.work, "nadia", "viewer", "a long password 1", author=who
    ),
    "auth.set_password": lambda m, d, t, who: m.set_password(
        d.work, "boss", "another password 2", author=who
    ),
    "auth.remove_user": lambda m, d, t, who: m.remove_user(d.work, "boss", author=who),
    "review.review": lambda m, d, t, who: m.review(d.work, ["batch_3"], accept=True, author=who),
    "notify_due.resend_now": lambda m, d, t, who: m.resend_now(d, "receipt:x:y", who),
}


def test_every_write_is_covered():
    found = discovered_writes()
    assert "team.delete_member" in found and "schedule.SyncScheduler.set_minutes" in found
    missing = found - set(CALLS) - set(NOT_A_USER_WRITE) - {"schedule.SyncScheduler.set_minutes"}
    assert not missing, f"writes with no viewer test: {sorted(missing)}"
    assert not (set(CALLS) | set(NOT_A_USER_WRITE)) - found, "stale names in the tables"


def snapshot(dbs) -> dict:
    """Every document of both databases, encoded, per collection, plus the index names."""
    state = {}
    for db in (dbs.work, dbs.training):
        for name in sorted(db.list_collection_names()):
            state[(db.name, name)] = (
                sorted(bson.encode(doc) for doc in db[name].find()),
                sorted(db[name].index_information()),
            )
    return state


@pytest.fixture
def lab(dbs):
    from segcore.backups.database_id import database_id
    from segcore.team import auth, team

    database_id(dbs.work)  # made by the first backup, long ago (the restore's call makes one)
    team.add_member(dbs.work, "Flor", author="setup")
    team.add_member(dbs.work, "Ceci", author="setup")
    auth.add_user(dbs.work, "boss", "coordinator", "a long password 0")
    dbs.work.batches.insert_many(
        [
            {
                "id": "batch_1",
                "number": 1,
                "assignee": "Flor",
                "status": "pending",
                "mongo_uploaded": False,
                "metadata": {"due_date": "2025-01-01"},
            },
            {"id": "batch_2", "number": 2, "status": "pending", "mongo_uploaded": False},
            {
                "id": "batch_3",
                "number": 3,
                "assignee": "Ceci",
                "status": "review",
                "mongo_uploaded": True,
            },
        ]
    )
    GridFS(dbs.training, collection="masks").put(
        b"m", filename="batch_2.zip", metadata={"uploaded_by": "ceci"}
    )
    return dbs


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_viewer_changes_nothing(name, lab, tmp_path):
    module = _defining_module(name)
    before = snapshot(lab)
    with pytest.raises(PermissionDenied, match="Vera has the viewer role"):
        CALLS[name](module, lab, tmp_path, VIEWER)
    assert snapshot(lab) == before


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_segmentador_changes_nothing(name, lab, tmp_path):
    """A segmentador's login (linked to Flor, who holds batch_1) may write nothing of these."""
    module = _defining_module(name)
    before = snapshot(lab)
    with pytest.raises(PermissionDenied, match="can only mark their own batches"):
        CALLS[name](module, lab, tmp_path, Actor("flor", "segmentador", "Flor"))
    assert snapshot(lab) == before


# demo: only into empty databases; resend: only with messages in the outbox; the routine run's
# short path: only after a sync (tests/sync/test_routine.py shows it records the run)
@pytest.mark.parametrize(
    "name",
    sorted(set(CALLS) - {"demo.load_demo", "notify_due.resend_now", "routine.sync_if_unchanged"}),
)
def test_the_same_call_by_a_coordinator_writes(name, lab, tmp_path):
    """So the viewer's test above is not vacuous."""
    before = snapshot(lab)
    CALLS[name](_defining_module(name), lab, tmp_path, Actor("Boss"))
    assert snapshot(lab) != before


def test_a_viewer_cannot_change_the_sync_schedule():
    from segcore.sync.live.schedule import SyncScheduler

    auto = SyncScheduler(lambda: None, minutes=15)
    planned = auto.next_run
    with pytest.raises(PermissionDenied):
        auto.set_minutes(1, VIEWER)
    assert (auto.minutes, auto.next_run) == (15.0, planned)
    auto.set_minutes(0, Actor("Boss"))
    assert auto.minutes == 0 and auto.next_run is None


def test_a_viewers_delete_member_leaves_the_member_and_no_history(lab):
    from segcore.team import team

    with pytest.raises(PermissionDenied):
        team.delete_member(lab.work, "Flor", VIEWER)
    assert [m.name for m in team.list_members(lab.work)] == ["Ceci", "Flor"]
    assert lab.work.history.count_documents({"new": "removed"}) == 0
