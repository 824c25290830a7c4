"""The live sync (`segcore sync --watch`): uploads reflected on their batches within seconds.

It catches up with one routine sync (`run_sync`, holding the live lease), keeps that sync's
index and the batch listing in memory, then waits on the uploads' change stream and applies each
group of changes with the very function a routine sync uses (`sync_apply.apply_upload_changes`):
the same index, bulk batch writes, status moves, read models, data version, resume token and
state document, so a cron or button sync afterwards carries on where it stopped. A group's
changed index keys go to the index's journal (cheap whatever the group touched); the journal is
folded into the index's parts while idle (or when it grows past JOURNAL_MAX_ENTRIES). While it runs
it holds the sync lease (renewed while idle), so other syncs refuse with a message naming it.

A lost connection drops the in-memory state; once the server answers again it catches up from
the saved token (one full read when the history is gone) and follows again; when `moved` says
the server now runs elsewhere (the embedded one, see cli.sync) it exits instead. Without change
streams (a standalone server) it compares upload ids every `poll_s` seconds instead.
"""

from __future__ import annotations

import time
from typing import Callable

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from segcore.core.errors import (
    DatabaseUnavailable,
    ServerRestarted,
    SyncAlreadyRunning,
    WriteStalled,
)
from segcore.core.naming import printable
from segcore.masks import content_due
from segcore.store import server_process
from segcore.store.change_stream import current_token
from segcore.store.connection import Databases, driver_error_message
from segcore.store.data_version import edited_batches
from segcore.store.schema import BATCHES
from segcore.sync.batch_list_changes import OthersChanges, others_since
from segcore.sync.index.sync_index import journal_keys, read_index
from segcore.sync.live.live_content import ContentWorker
from segcore.sync.records.sync_lease import Lease
from segcore.sync.records.sync_runs import LiveRecord, SyncReport, run_started
from segcore.sync.records.sync_state import SyncState
from segcore.sync.routine import BATCHES_TOKEN
from segcore.sync.sync import NOT_TRUSTED, batch_list_stamp, sync_once
from segcore.sync.sync_apply import (
    WRITE_CHUNK,
    BatchListing,
    SyncWriter,
    apply_upload_changes,
    fold_journal,
    follow_edits,
    summarise,
)
from segcore.uploads.live_stream import IDLE_WAIT_MS, ChangeFeed
from segcore.uploads.upload_changes import Changes, FullReadNeeded, changes_from_ids
from segcore.uploads.uploads import upload_from_document
from segcore.work.batches import generation

KEEP_EVERY_S = 30  # renew the lease, count the batches and save the idle resume point
JOURNAL_MAX_ENTRIES = 50_000  # fold the index's journal after a group when it holds more
SUMMARY_EVERY_S = 60  # recount problems (orphans, mismatches) at most this often, when idle
SUMMARY_MAX_S = 600  # ... and after a group, when uploads came without a pause this long
UNUSABLE_LOGGED = 10  # unusable uploads of one group named in the log (all are counted)
RECONNECT_MAX_S = 30
QUIET_SHARE = 0.8  # an idle wait that lasted this share of its length saw no other writes
QUIET_MAX_S = 30  # never put the idle work off longer than this
# Errors of a server going away or restarting that a reconnection cures.
_TRANSIENT_CODES = {6, 7, 43, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}


class Stopped(Exception):
    """The live sync was asked to stop while it waited."""


class LiveSync:
    """Follows the uploads until `stop()`; `run()` does the work (see the module docstring)."""

    def __init__(
        self,
        databases: Databases,
        *,
        log: Callable[[str], None],
        author: str = "live-sync",
        poll_s: float = 10.0,
        full: bool = False,
        idle_wait_ms: int = IDLE_WAIT_MS,
        on_receipts: Callable[[list], None] | None = None,
        moved: Callable[[], str | None] | None = None,
    ):
        self.databases, self.work = databases, databases.work
        self.log, self.author, self.poll_s = log, author, poll_s
        self.full_first, self.idle_wait_ms = full, idle_wait_ms
        self.lease = Lease(self.work, kind="live")
        self.record = LiveRecord(self.work, author)
        self.namespace = f"{databases.training.name}.{databases.masks_files.name}"
        self.stopping = self.waiting = self.said_polling = self.dirty = False
        self.index: dict | None = None
        self.token: dict | None = None
        self.listing: BatchListing | None = None
        self.stamp: dict = {}
        # Where the batch list's change stream was last read past the syncs' own writes (None
        # without change streams): other tools' edits show there, not in the generation.
        self.batches_token: dict | None = None
        self.total_files = self.journaled = 0
        self.process: str | None = None  # the database server's, as the last catch-up found it
        self.followable = False  # the listing is what the read models were counted with
        self.kept_at = self.summarised_at = self.counted_at = 0.0
        self.summary_due = False  # a new live record: recount its problems when idle
        self.tidied_at = 0.0  # the last idle moment that did more than keep the lease
        # New uploads' content checks run beside the loop (see live_content); `on_receipts`
        # gets their upload ids once their receipts are final (the notifications' hook).
        self.content = ContentWorker(databases, author, log, on_receipts)
        # Asked after a lost connection: why retrying this address is hopeless (the embedded
        # server came back elsewhere), or None.
        self.moved = moved

    def stop(self) -> None:
        """Ask the live sync to stop (safe in a signal handler: it interrupts a wait only)."""
        self.stopping = True
        if self.waiting:
            self.waiting = False
            raise Stopped

    def run(self) -> None:
        """Follow the uploads until stopped. Raises SyncAlreadyRunning when another sync (live
        or not) holds the lease at start; other errors than a lost server or a stalled write
        propagate."""
        self.lease.acquire()
        self.log("live sync started")
        self.content.start()
        backoff = 1.0
        try:
            while not self.stopping:
                try:
                    self._catch_up()
                    backoff = 1.0
                    self._follow()
                except FullReadNeeded as exc:
                    self.log(f"{exc}: catching up from the saved resume point")
                    self._drop_state()
                    self._pause(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX_S)
                except ServerRestarted as exc:  # the next catch-up reads everything
                    self.log(str(exc))
                    self._drop_state()
                    self._pause(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX_S)
                except SyncAlreadyRunning as exc:
                    self.log(f"lost the sync lease while the database was away ({exc}); waiting")
                    self._drop_state()
                    self._pause(RECONNECT_MAX_S)
                except WriteStalled as exc:  # a killed command's transaction: try again
                    self.log(f"{exc}; retrying in {RECONNECT_MAX_S} s")
                    self._drop_state()
                    self._pause(RECONNECT_MAX_S)
                except PyMongoError as exc:
                    if not _transient(exc):
                        raise
                    self._drop_state()
                    reason = self.moved() if self.moved else None
                    if reason:  # exit, so a service manager starts it on the new address
                        raise DatabaseUnavailable(reason) from None
                    self.log(
                        f"{driver_error_message(exc, self.databases.uri)}; "
                        f"retrying in {backoff:.0f} s"
                    )
                    self._pause(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX_S)
        except Stopped:
            pass
        finally:
            self._shut_down()

    # --- catching up and following ---------------------------------------------------------

    def _catch_up(self) -> None:
        """One routine sync under the live lease, then its index and batch listing in memory."""
        self.lease.keep()
        outcome = sync_once(
            self.databases,
            full=self.full_first,
            mode="live",
            author=self.author,
            lease=self.lease,
            content_due=content_due.NEW,
        )
        report = outcome.report
        self.full_first = False
        self.log(
            f"caught up: {report.total_files} files ({report.new_files} new, "
            f"{report.removed_files} removed), {report.batches_updated} batches updated"
            f"{f' (full read: {report.full_reason})' if report.full else ''}"
        )
        self.token, self.total_files, self.stamp, self.process = (
            outcome.token,
            report.total_files,
            outcome.stamp,
            outcome.process,
        )
        self.batches_token = outcome.batches_token
        # The uploads it found new get their content checked too (a full read: `verify`),
        # after those a content check killed earlier left owed.
        owed = content_due.owed(self.work).ids
        self.content.add(owed + list(report.changed_upload_ids or []))
        # The run's own index and listing; a run that found nothing new read neither.
        self.index = outcome.index if outcome.index is not None else read_index(self.work)
        self.listing = outcome.listing or BatchListing.read(self.work)
        # Edits can be followed from this listing only if none landed since the run above
        # took its stamp (segcore's, by the generation; other tools', by the batch list's
        # stream): else the listing holds owners the read models never counted, and the
        # first change gets a full comparison (which rebuilds them from its listing).
        self.followable = (
            generation(self.work) == self.stamp.get("generation") and self._others().none
        )
        self.kept_at = self.counted_at = time.monotonic()
        self.journaled = len(journal_keys(self.work)[1])  # left by a run that found nothing

    def _follow(self) -> None:
        if self.token is None:
            if not self.said_polling:
                self.log(
                    "this server offers no change streams (a standalone server?): "
                    f"looking for new uploads every {self.poll_s:g} s instead"
                )
                self.said_polling = True
            self._poll()
            return
        feed = ChangeFeed(self.databases.masks_files, self.token)
        self.log("waiting for uploads (change stream)")
        try:
            while not self.stopping:
                self.waiting = True
                started = time.monotonic()
                try:
                    documents = feed.next_group(self.idle_wait_ms)
                finally:
                    self.waiting = False
                if documents:
                    self._apply(documents, feed.token)
                else:
                    # Woken early by other writes (an upload's chunks landing, say): its file
                    # document may be next, so only what cannot wait is done.
                    waited = time.monotonic() - started
                    self._idle(feed.token, quiet=waited >= QUIET_SHARE * self.idle_wait_ms / 1000)
        finally:
            feed.close()

    def _poll(self) -> None:
        files = self.databases.masks_files
        while not self.stopping:
            self._pause(self.poll_s)
            if self.stopping:
                return
            documents = changes_from_ids(files, self.index.upload_ids()).documents
            if documents:
                self._apply(documents, None)
            else:
                self._idle(None)

    # --- one group -------------------------------------------------------------------------

    def _apply(self, documents: dict, token: dict | None) -> None:
        """Apply one group of changed uploads as an incremental sync (the shared function)."""
        self._same_server()
        clock = time.perf_counter()
        # Never a count of the batches here: on the embedded server it costs seconds, which
        # every receipt of the group would wait for (idle moments count them, see _idle).
        stamp = self._stamp(count=False)
        others = self._others()
        # Else every batch is compared, as run_sync does.
        same = (stamp == self.stamp and others.none) or self._follow_edits(stamp, others)
        if not same:  # the listing the comparison reads is at least as new as this position
            self.batches_token = others.token or current_token(self.work[BATCHES])
        report = SyncReport(mode="live", started_at=run_started())
        writer = SyncWriter(
            self.databases, self.author, self.lease, journal=same, content_due=content_due.NEW
        )
        self.listing = apply_upload_changes(
            writer,
            self.index,
            Changes(documents, token, whole=True),
            report,
            saved={**stamp, "namespace": self.namespace, **self._batches_position()},
            total_files=self.total_files,
            same_batches=same,
            listing=self.listing if same else None,
        )
        self.journaled = self.journaled + report.entries_changed if same else 0
        # A full comparison counts the read models with the listing it streams.
        self.followable = self.followable or not same
        self.total_files, self.token, self.stamp = report.total_files, token, stamp
        self._keep_lease()  # a steady flow of groups writing no batch must renew it too
        updated = report.batches_updated
        if not documents and not updated:
            return  # the batch list changed, but no batch's masks did
        self.dirty = True
        self.lease.note_change()
        seconds = time.perf_counter() - clock
        bulk_writes = -(-updated // WRITE_CHUNK)
        opened = self.record.add(
            new_files=report.new_files,
            removed_files=report.removed_files,
            batches_updated=updated,
            status_moves=report.status_moves,
            bulk_writes=bulk_writes,
            total_files=self.total_files,
            duration_s=seconds,
        )
        self.log(
            f"applied {len(documents)} changed uploads ({report.new_files} new, "
            f"{report.removed_files} removed): batches updated {updated}, status moves "
            f"{report.status_moves}, bulk writes {bulk_writes}, {seconds:.2f} s"
        )
        self._name_unusable(documents)
        for bad in report.not_stored[:UNUSABLE_LOGGED]:  # each stored as unreadable instead
            self.log(f"listing not stored {printable(str(bad['filename'])[:80])}: {bad['reason']}")
        self.content.add([i for i, doc in documents.items() if doc is not None])
        # A pass over the whole index: when idle, unless uploads never stop coming.
        self.summary_due = self.summary_due or bool(opened)
        if time.monotonic() - self.summarised_at > SUMMARY_MAX_S:
            self._summarise()
        if self.journaled > JOURNAL_MAX_ENTRIES:
            self._fold()

    def _idle(self, token: dict | None, quiet: bool = True) -> None:
        """Between changes: keep the lease, notice batch-list changes, refresh the problems.
        Not `quiet` (the wait ended early, with no upload), only edits are followed and the
        lease kept, unless the rest has waited QUIET_MAX_S: every step here delays an upload
        that lands meanwhile."""
        self._same_server()
        tidy = quiet or time.monotonic() - self.tidied_at >= QUIET_MAX_S
        stamp = self._stamp(count=tidy)  # the generation (one lookup) every time
        others = self._others()  # and the batch list's change stream (a round trip or two)
        if (stamp != self.stamp or not others.none) and not self._follow_edits(stamp, others):
            self._apply({}, token if token is not None else self.token)
            return
        if not tidy:
            self._keep_lease()
            return
        self.tidied_at = time.monotonic()
        if self.journaled:
            self._fold()
        if not self._keep_lease():
            return
        if token is not None and token != self.token:
            # A restart (or a routine sync once stopped) then skips less history.
            SyncState(self.work).save({"token": token, **self._batches_position()})
            self.token = token
        if self.summary_due or (
            self.dirty and time.monotonic() - self.summarised_at > SUMMARY_EVERY_S
        ):
            self._summarise()

    # --- helpers ---------------------------------------------------------------------------

    def _name_unusable(self, documents: dict) -> None:
        """Log the uploads of a group that count for no batch, with the reason, as `sync`
        names them (all are counted in the live record)."""
        found = [upload_from_document(d) for d in documents.values() if isinstance(d, dict)]
        bad = [u for u in found if u.problem]
        for upload in bad[:UNUSABLE_LOGGED]:
            self.log(f"unusable upload {printable(upload.filename[:80])}: {upload.problem}")
        if len(bad) > UNUSABLE_LOGGED:
            self.log(f"... and {len(bad) - UNUSABLE_LOGGED} more unusable uploads")

    def _stamp(self, count: bool = True) -> dict:
        """The batch list's stamp: its generation every time (one lookup), its count (a pass
        over the batches on the embedded server) every KEEP_EVERY_S when `count`, since only
        other tools add or remove batches without bumping the generation."""
        if count and time.monotonic() - self.counted_at >= KEEP_EVERY_S:
            self.counted_at = time.monotonic()
            return batch_list_stamp(self.work)
        return {"generation": generation(self.work), "batch_count": self.stamp.get("batch_count")}

    def _others(self) -> OthersChanges:
        """What others changed in the batch list since it was last asked, the syncs' own writes
        set apart (nothing, where the server has no change streams: the count tells then)."""
        if self.batches_token is None:
            return OthersChanges()
        others = others_since(self.work[BATCHES], self.batches_token)
        if others.none:
            self.batches_token = others.token
        return others

    def _batches_position(self) -> dict:
        """The batch list's stream position to save with the state, for a routine sync after
        this one stops."""
        return {BATCHES_TOKEN: self.batches_token} if self.batches_token is not None else {}

    def _follow_edits(self, stamp: dict, others: OthersChanges) -> bool:
        """True when the batch list changed by edits of known batches alone (segcore's, named
        with the generation, and other tools' edits of existing batches, from the batch list's
        change stream), now followed in the listing and the read models (a reassignment must
        not cost a comparison of every batch while uploads wait)."""
        if (
            not self.followable
            or self.listing is None
            or not others.followable
            or stamp.get("batch_count") != self.stamp.get("batch_count")
        ):
            return False
        _, edited = edited_batches(self.work, self.stamp.get("generation"))
        if edited is None:
            return False
        by_doc = {d["_id"]: d.get("id") for d in self.listing.docs}
        by_others = {by_doc.get(doc_id) for doc_id in others.edited}
        if any(not isinstance(batch_id, str) for batch_id in by_others):
            return False  # a batch the listing does not hold, or one without an id
        edited = edited | by_others
        self.batches_token, before = others.token or self.batches_token, self.batches_token
        saved = {**stamp, "namespace": self.namespace, **self._batches_position()}
        if not follow_edits(self.databases, self.index, self.listing, edited, saved):
            self.batches_token = before
            return False
        self.log(f"followed edits of {len(edited)} batches")
        self.stamp, self.dirty = stamp, True  # mismatches depend on who holds a batch
        return True

    def _fold(self) -> None:
        """Fold the index's journal into its parts (a routine sync would do it otherwise)."""
        clock = time.perf_counter()
        written = fold_journal(self.work, self.index)
        self.log(
            f"folded the journaled index changes into {written} index parts, "
            f"{time.perf_counter() - clock:.2f} s"
        )
        self.journaled = 0

    def _keep_lease(self) -> bool:
        """Renew the lease when KEEP_EVERY_S have passed; True when it did."""
        if time.monotonic() - self.kept_at < KEEP_EVERY_S:
            return False
        self.lease.keep()
        self.kept_at = time.monotonic()
        return True

    def _summarise(self) -> None:
        """Problem counts and lists into the live record (a pass over the whole index, so not
        after every group)."""
        report = SyncReport(mode="live")
        summarise(report, self.listing, self.index)
        self.record.summarise(report)
        self.summarised_at, self.dirty, self.summary_due = time.monotonic(), False, False

    def _same_server(self) -> None:
        """Raise ServerRestarted when the database server's process is not the one the last
        catch-up found (no round trip: the driver's last look): the groups applied since may
        rest on writes it lost, and the catch-up it leads to reads everything."""
        now = server_process.seen(self.work.client)  # None: being checked again, unknown
        if None not in (now, self.process) and now != self.process:
            raise ServerRestarted(NOT_TRUSTED)

    def _drop_state(self) -> None:
        """Forget what is in memory: after a failure it may be ahead of what was saved."""
        self.index, self.listing, self.dirty = None, None, False

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self.waiting = True
        try:
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.5, deadline - time.monotonic()))
        finally:
            self.waiting = False

    def _shut_down(self) -> None:
        """Save the resume point and the problem counts, give the lease back."""
        self.waiting = False
        try:
            if self.index is not None:
                if self.token is not None:
                    SyncState(self.work).save({"token": self.token, **self._batches_position()})
                if self.dirty:
                    self._summarise()
        except PyMongoError as exc:
            detail = driver_error_message(exc, self.databases.uri)
            self.log(
                f"could not save the resume point ({detail}); the next start reads the "
                "changes since the last saved one"
            )
        self.content.stop()
        self.lease.release_quietly()
        self.log("live sync stopped")


def _transient(exc: PyMongoError) -> bool:
    """True for errors of a server going away or restarting."""
    if isinstance(exc, ConnectionFailure):
        return True
    return isinstance(exc, OperationFailure) and (
        exc.code in _TRANSIENT_CODES or exc.has_error_label("ResumableChangeStreamError")
    )
