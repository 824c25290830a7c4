"""Clearly labelled demo data, so a newcomer sees a working dashboard without real data.

It writes a team, batch folders with image files and a batches.json, assignments in various
states, and mask uploads through GridFS with the messy names and metadata real tools produce:
real small zips and tars of PNG masks, most complete, some missing a mask, a few cut short or a
part of a split zip (unreadable), some with a label map beside the masks. Then it runs a sync and
a mask check, so every page shows figures and charts at once. It refuses to run on a database
that already holds anything, except to finish a demo whose load was interrupted.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import socket
import tarfile
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from bson import ObjectId
from gridfs import GridFS
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, DemoRefused
from segcore.core.naming import person_key
from segcore.core.timefmt import utcnow
from segcore.masks import mask_check
from segcore.store.connection import Databases
from segcore.store.demo_marker import load_running, started_text
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, META, TEAM
from segcore.sync import sync
from segcore.team import team
from segcore.work import assignments, batch_import, batches
from segcore.work.batches_file import read_batches_file

DEMO_TEAM = [
    ("Mauricio", "Segmentador Senior", "mauricio@example.com"),
    ("Maggie", "Segmentador", "maggie@example.com"),
    ("Ceci", "Segmentador", ""),
    ("Flor", "Segmentador Senior", "flor@example.com"),
    ("Ignacio", "Revisor", "ignacio@example.com"),
]


def _png(value: int) -> bytes:
    """An 8×8 grey PNG written by Pillow: real files that every content check can open, small
    enough to create hundreds quickly."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8, 8), value).save(out, format="PNG")
    return out.getvalue()


IMAGE_PNG = _png(128)  # each image of a batch's folder
MASK_PNG = _png(1)  # each mask: label 1 over the whole image, neither empty nor a stray label


def is_demo(databases: Databases) -> bool:
    """True when the data shown was loaded by the demo."""
    return databases.work[META].count_documents({"_id": "demo"}) > 0


def demo_directory(databases: Databases) -> Path | None:
    """Where the demo's folders and batches.json live, if the demo was loaded."""
    doc = databases.work[META].find_one({"_id": "demo"}) or {}
    return Path(doc["directory"]) if doc.get("directory") else None


def can_load_demo(databases: Databases) -> bool:
    """True when both databases are empty, so demo data cannot mix with real data."""
    work, files = databases.work, databases.masks_files
    # Cheapest first, each stopping at the first document: on a deployment in use the small
    # team (or the batch list's change counter) answers in one indexed lookup, and the
    # unindexed checks of the large collections run only on a database that looks empty.
    if work[TEAM].find_one({}, {"_id": 1}) is not None:
        return False
    if (work[META].find_one({"_id": "batches"}) or {}).get("generation"):
        return False
    return work[BATCHES].find_one({}, {"_id": 1}) is None and files.find_one({}, {"_id": 1}) is None


def _prepare(databases: Databases, directory: Path, count: int) -> Path:
    """Check every right the demo needs and build its folders, before any document is written.

    The demo writes sample uploads into the training database, which the documented
    least-privilege user may only read: finding that out after the batches and the team were
    written would leave a database that is neither empty nor a demo. Returns the batches file.
    """
    bucket = databases.settings.masks_bucket
    try:
        # The indexes GridFS creates on its first upload, and a write it would make.
        databases.training[f"{bucket}.files"].create_index([("filename", 1), ("uploadDate", 1)])
        chunks = databases.training[f"{bucket}.chunks"]
        chunks.create_index([("files_id", 1), ("n", 1)], unique=True)
        chunks.delete_one({"_id": chunks.insert_one({"demo_probe": True}).inserted_id})
    except OperationFailure as exc:
        if exc.code != 13:  # Unauthorized
            raise
        raise DemoRefused(
            N_(
                "The demo writes sample mask uploads into {database}, which this database user "
                "may only read; run it with the embedded server or a user allowed to write "
                "there. Nothing was loaded."
            ),
            database=databases.training.name,
        ) from None
    try:
        return build_folders(Path(directory), count)
    except OSError as exc:
        raise DemoRefused(
            N_("The demo folders cannot be created in {path} ({reason}); nothing was loaded."),
            path=directory,
            reason=exc.strerror or exc,
        ) from None


IMAGES_PER_BATCH = 3


def demo_outcome(number: int) -> str:
    """What the demo's uploads of batch `number` hold: "complete", "incomplete" (a mask
    missing) or "unreadable" (an upload cut short, or a part of a split zip)."""
    if number % 13 == 5:
        return "unreadable"
    if number % 10 == 3:
        return "incomplete"
    return "complete"


def mask_archive(filename: str, names: list[str], other_files: dict | None = None) -> bytes:
    """A real archive of PNG masks named `names`, its format chosen by `filename` (zip, tar.xz,
    tgz; anything else a zip)."""
    files = {name: MASK_PNG for name in names} | (other_files or {})
    buffer = io.BytesIO()
    lower = filename.lower()
    if lower.endswith((".tar.xz", ".tgz", ".tar.gz")):
        mode = "w:xz" if lower.endswith(".xz") else "w:gz"
        with tarfile.open(fileobj=buffer, mode=mode) as archive:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    else:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    return buffer.getvalue()


def _uploads_of(number: int, filenames: list[str], rng: random.Random) -> list[tuple[str, bytes]]:
    """Each upload of a batch with its real contents, spreading the masks over its parts."""
    masks = [f"masks/img_{image:03d}_mask.png" for image in range(1, IMAGES_PER_BATCH + 1)]
    outcome = demo_outcome(number)
    if outcome == "incomplete":
        masks = masks[:-1]
    uploads = []
    for index, filename in enumerate(filenames):
        part = masks[index :: len(filenames)]
        others = (
            {"labelmap.txt": b"background:0,0,0::\nlesion:255,0,0::\n"}
            if rng.random() < 0.2
            else None
        )
        uploads.append((filename, mask_archive(filename, part, others)))
    if outcome == "unreadable":
        filename, data = uploads[-1]
        if filename.lower().endswith(".zip") and rng.random() < 0.5:
            # The last part of a split zip: its end record says it spans two disks.
            end = data.rfind(b"PK\x05\x06")
            data = data[: end + 4] + b"\x01\x00\x01\x00" + data[end + 8 :]
        else:
            data = data[: len(data) * 2 // 3]  # the upload died part-way
        uploads[-1] = (filename, data)
    return uploads


def _orphan_uploads(uploads: "_Uploads") -> None:
    """Uploads naming no batch in the list, or several at once, as real tools leave them."""
    extras = [
        ("batch_9999_masks.zip", "flor"),
        ("final_masks.zip", "ceci"),
        ("batch_12_to_batch_15.zip", "maggie"),
    ]
    for filename, uploader in extras:
        uploads.put(
            mask_archive(filename, ["img_001_mask.png"]), filename, {"uploaded_by": uploader}
        )


def _filenames(number: int, rng: random.Random) -> list[str]:
    shapes = [
        f"masks_batch_{number}.tar.xz",
        f"Batch-{number}.zip",
        f"batch_{number:04d}_part2.zip",
        f"BATCH{number}.tgz",
        f"batch {number} masks.zip",
        f"batch_{number}_part1.zip",
    ]
    return rng.sample(shapes, k=rng.choice([1, 1, 2, 3]))


def build_folders(directory: Path, count: int) -> Path:
    """Create `count` batch folders with a few images each and a batches.json; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for number in range(1, count + 1):
        folder = directory / f"batch_{number}"
        folder.mkdir(exist_ok=True)
        for image in range(1, IMAGES_PER_BATCH + 1):
            (folder / f"img_{image:03d}.png").write_bytes(IMAGE_PNG)
        entries.append({"id": f"batch_{number}", "folder": str(folder.resolve())})
    batches_file = directory / "batches.json"
    batches_file.write_text(json.dumps({"batches": entries}, indent=1))
    return batches_file


def load_demo(
    databases: Databases,
    directory: Path,
    author: "str | Actor" = "demo",
    count: int = 300,
    seed: int = 7,
    today: date | None = None,
    interrupted: Callable[[], bool] = lambda: False,
) -> dict:
    """Load the demo into empty databases, or finish one whose load was interrupted.

    The mark (`app_meta.demo`) is written first and says "loading" until the last step is
    done. A load that finds such a mark left by a process that no longer runs takes it over
    and does every step again with the first load's folder, size, seed and day: each step
    writes only what is missing (the same batches, members, assignments and uploads, each
    upload under the id the first load gave it), so nothing is written twice and nothing but
    the demo's own writes is touched. Raises DemoRefused when the databases hold other data or
    another process is loading the demo right now. `interrupted`: True once Ctrl-C was
    pressed, asked between uploads and at the end, as a KeyboardInterrupt that landed where
    Python only prints it (a finaliser) must still stop the load and leave it marked so.
    """
    author = authorize_write(author)
    work = databases.work
    refuse_writes(work)
    mark = work[META].find_one({"_id": "demo"}) or {}
    loading = mark.get("loading")
    if not loading and not can_load_demo(databases):
        raise DemoRefused(
            N_("The databases already hold data; the demo only loads into empty ones.")
        )
    if loading and load_running(loading):
        raise DemoRefused(
            N_(
                "The demo is being loaded by another process (since {started} UTC); wait until "
                "it has finished."
            ),
            started=started_text(loading),
        )
    if loading:  # an interrupted load: finished with what it was started with
        directory, count, seed = Path(mark["directory"]), loading["count"], loading["seed"]
        today = date.fromisoformat(loading["today"])
    today = today or date.today()
    batches_file = _prepare(databases, Path(directory), count)
    loading = _claim(work, loading, Path(directory), count, seed, today)
    try:
        summary = _load(databases, batches_file, author, count, seed, today, loading, interrupted)
        if interrupted():
            raise KeyboardInterrupt
    except BaseException:
        # Ctrl-C, a server gone away, a bug: the next load takes over at once, without waiting
        # to find this process gone (a page's load runs in the app, which lives on).
        with contextlib.suppress(PyMongoError):
            work[META].update_one({"_id": "demo"}, {"$set": {"loading.pid": None}})
        raise
    work[META].update_one({"_id": "demo"}, {"$unset": {"loading": ""}})
    return {**summary, "directory": str(Path(directory).resolve())}


def _claim(work, loading, directory: Path, count: int, seed: int, today: date) -> dict:
    """Write the demo's mark saying this process loads it, or take over an interrupted load's
    (compare-and-set, so of two processes finishing it at once one is refused)."""
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": utcnow()}
    if loading:
        taken = work[META].update_one(
            {"_id": "demo", "loading.pid": loading.get("pid"), "loading.host": loading.get("host")},
            {"$set": {f"loading.{key}": value for key, value in mine.items()}},
        )
        if taken.modified_count:
            return {**loading, **mine}
    else:
        loading = {
            **mine,
            "count": count,
            "seed": seed,
            "today": today.isoformat(),
            "uploads_id": ObjectId(),  # the demo's uploads take ids made from it (_upload_id)
        }
        try:
            work[META].insert_one(
                {
                    "_id": "demo",
                    "loaded_at": datetime.now(),
                    "directory": str(directory.resolve()),
                    "loading": loading,
                }
            )
            return loading
        except DuplicateKeyError:
            pass
    raise DemoRefused(
        N_("Another process started loading the demo at the same time; wait until it has finished.")
    )


def _load(databases, batches_file, author, count, seed, today, loading, interrupted) -> dict:
    rng = random.Random(seed)
    work, zone = databases.work, databases.settings.zone
    batch_import.import_batches(work, read_batches_file(batches_file), author)
    present = {person_key(m.name): m.name for m in team.list_members(work)}
    names = []
    for name, role, email in DEMO_TEAM:
        if person_key(name) in present:  # added by the load that was interrupted
            names.append(present[person_key(name)])
        else:
            names.append(team.add_member(work, name, role, email, author, zone).name)

    assigned = int(count * 0.75)
    edits = []
    for number in range(1, assigned + 1):
        batch_id = f"batch_{number}"
        person = names[(number - 1) * len(names) // assigned]
        edits.append(batches.Edit(batch_id, "assignee", None, person))
        edits.append(batches.Edit(batch_id, "priority", None, rng.choice(batches.PRIORITIES)))
        due = today + timedelta(days=rng.randint(-10, 30))
        edits.append(batches.Edit(batch_id, "due_date", None, due.isoformat()))
    # Those an interrupted load made are no longer unset: compare-and-set leaves them as they are.
    assignments.apply_edits(work, edits, author, zone=zone)

    uploads = _Uploads(databases, loading, interrupted)
    done_until = int(assigned * 0.55)
    for number in range(1, done_until + 1):
        batch_id = f"batch_{number}"
        assignee = names[(number - 1) * len(names) // assigned]
        for filename, data in _uploads_of(number, _filenames(number, rng), rng):
            uploader = assignee.lower() if rng.random() > 0.05 else rng.choice(names).lower()
            metadata: dict | None = {"uploaded_by": uploader}
            if rng.random() < 0.5:
                metadata["batch_id"] = batch_id
            if rng.random() < 0.05:
                metadata = None
            when = datetime.combine(today, datetime.min.time()) - timedelta(
                days=(done_until - number) * 30 / done_until, hours=rng.randint(0, 8)
            )
            uploads.put(data, filename, metadata, when)
    _orphan_uploads(uploads)
    # A few legacy values, as the old dashboard left them.
    work[BATCHES].update_one({"id": "batch_2"}, {"$set": {"status": "S"}})
    work[BATCHES].update_one({"id": f"batch_{assigned}"}, {"$set": {"assignee": "Roberto"}})
    batches.mark_changed(work, ["batch_2", f"batch_{assigned}"])
    return {
        "batches": count,
        "team": len(names),
        "assigned": assigned,
        "uploads": uploads.count,
        "batches_file": str(batches_file),
        "mask_states": _sync_and_check(databases, author),
    }


class _Uploads:
    """The demo's mask uploads, each under an id of its own made from the load's mark, so a
    load that finishes an interrupted one skips those already stored and knows the chunks of
    one cut short as the demo's."""

    def __init__(self, databases: Databases, loading: dict, interrupted=lambda: False):
        self.interrupted = interrupted
        self.files = GridFS(databases.training, collection=databases.settings.masks_bucket)
        self.documents = databases.masks_files
        self.chunks = databases.training[f"{databases.settings.masks_bucket}.chunks"]
        self.base = loading["uploads_id"].binary
        self.count = 0

    def put(self, data: bytes, filename: str, metadata: dict | None, when=None) -> None:
        if self.interrupted():
            raise KeyboardInterrupt
        file_id = ObjectId(self.base[:9] + self.count.to_bytes(3, "big"))
        self.count += 1
        if self.documents.find_one({"_id": file_id}, {"_id": 1}) is None:
            self.chunks.delete_many({"files_id": file_id})  # a put cut short left them
            self.files.put(data, _id=file_id, filename=filename, metadata=metadata)
        if when is not None:
            # GridFS stamps the current time; the demo spreads uploads over the last month.
            self.documents.update_one({"_id": file_id}, {"$set": {"uploadDate": when}})


def _sync_and_check(databases: Databases, author: str) -> dict[str, int]:
    """What a coordinator does first: a sync, then a mask check, so the Dashboard shows masks
    and charts and "Check masks" has results as soon as the demo is loaded. Returns how many
    batches are in each mask-check state."""
    sync.run_sync(databases, author=author)
    states: dict[str, int] = {}
    for row in mask_check.verify(databases, author=author).batches:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return states
