"""Clearly labelled demo data, so a newcomer sees a working dashboard without real data.

It writes a team, batch folders with image files and a batches.json, assignments in various
states, and mask uploads through GridFS with the messy names and metadata real tools produce.
It refuses to run on a database that already holds anything.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from gridfs import GridFS
from pymongo.errors import OperationFailure

from segcore.work import assignments, batch_import, batches
from segcore.team import team
from segcore.core.actors import Actor, authorize_write
from segcore.core.connection import Databases
from segcore.core.errors import N_, DemoRefused
from segcore.core.schema import BATCHES, META, TEAM

DEMO_TEAM = [("Mauricio", "Segmentador Senior", "mauricio@example.com"),
             ("Maggie", "Segmentador", "maggie@example.com"),
             ("Ceci", "Segmentador", ""),
             ("Flor", "Segmentador Senior", "flor@example.com"),
             ("Ignacio", "Revisor", "ignacio@example.com")]
# A 1x1 grey PNG: real image files, small enough to create hundreds quickly.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
                    "0000000a4944415408d763680000000201017d8c8d7f0000000049454e44ae426082")


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
    return (work[BATCHES].find_one({}, {"_id": 1}) is None
            and files.find_one({}, {"_id": 1}) is None)


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
            N_("The demo writes sample mask uploads into {database}, which this database user "
               "may only read; run it with the embedded server or a user allowed to write "
               "there. Nothing was loaded."), database=databases.training.name) from None
    try:
        return build_folders(Path(directory), count)
    except OSError as exc:
        raise DemoRefused(N_("The demo folders cannot be created in {path} ({reason}); "
                             "nothing was loaded."), path=directory,
                          reason=exc.strerror or exc) from None


def _filenames(number: int, rng: random.Random) -> list[str]:
    shapes = [f"masks_batch_{number}.tar.xz", f"Batch-{number}.zip",
              f"batch_{number:04d}_part2.zip", f"BATCH{number}.tgz",
              f"batch {number} masks.zip", f"batch_{number}_part1.zip"]
    return rng.sample(shapes, k=rng.choice([1, 1, 2, 3]))


def build_folders(directory: Path, count: int) -> Path:
    """Create `count` batch folders with a few images each and a batches.json; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for number in range(1, count + 1):
        folder = directory / f"batch_{number}"
        folder.mkdir(exist_ok=True)
        for image in range(1, 4):
            (folder / f"img_{image:03d}.png").write_bytes(PNG)
        entries.append({"id": f"batch_{number}", "folder": str(folder.resolve())})
    batches_file = directory / "batches.json"
    batches_file.write_text(json.dumps({"batches": entries}, indent=1))
    return batches_file


def load_demo(databases: Databases, directory: Path, author: "str | Actor" = "demo",
              count: int = 300, seed: int = 7, today: date | None = None) -> dict:
    """Load the demo into empty databases; raise DemoRefused when they hold any data."""
    author = authorize_write(author)
    if not can_load_demo(databases):
        raise DemoRefused(N_("The databases already hold data; the demo only loads into "
                             "empty ones."))
    batches_file = _prepare(databases, Path(directory), count)
    rng = random.Random(seed)
    today = today or date.today()
    work = databases.work
    work[META].insert_one({"_id": "demo", "loaded_at": datetime.now(), "directory":
                           str(Path(directory).resolve())})
    batch_import.import_batches(work, batch_import.read_batches_file(batches_file), author)
    names = []
    for name, role, email in DEMO_TEAM:
        names.append(team.add_member(work, name, role, email, author=author).name)

    assigned = int(count * 0.75)
    edits = []
    for number in range(1, assigned + 1):
        batch_id = f"batch_{number}"
        person = names[(number - 1) * len(names) // assigned]
        edits.append(batches.Edit(batch_id, "assignee", None, person))
        edits.append(batches.Edit(batch_id, "priority", None, rng.choice(batches.PRIORITIES)))
        due = today + timedelta(days=rng.randint(-10, 30))
        edits.append(batches.Edit(batch_id, "due_date", None, due.isoformat()))
    assignments.apply_edits(work, edits, author)

    files = GridFS(databases.training, collection=databases.settings.masks_bucket)
    uploads = 0
    done_until = int(assigned * 0.55)
    for number in range(1, done_until + 1):
        batch_id = f"batch_{number}"
        assignee = names[(number - 1) * len(names) // assigned]
        for filename in _filenames(number, rng):
            uploader = assignee.lower() if rng.random() > 0.05 else rng.choice(names).lower()
            metadata: dict | None = {"uploaded_by": uploader}
            if rng.random() < 0.5:
                metadata["batch_id"] = batch_id
            if rng.random() < 0.05:
                metadata = None
            when = datetime.combine(today, datetime.min.time()) - timedelta(
                days=(done_until - number) * 30 / done_until, hours=rng.randint(0, 8))
            file_id = files.put(PNG * rng.randint(1, 40), filename=filename, metadata=metadata)
            # GridFS stamps the current time; the demo spreads uploads over the last month.
            databases.masks_files.update_one({"_id": file_id}, {"$set": {"uploadDate": when}})
            uploads += 1
    extras = [("batch_9999_masks.zip", "flor"), ("final_masks.zip", "ceci"),
              ("batch_12_to_batch_15.zip", "maggie")]
    for filename, uploader in extras:
        files.put(PNG, filename=filename, metadata={"uploaded_by": uploader})
        uploads += 1
    # A few legacy values, as the old dashboard left them.
    work[BATCHES].update_one({"id": "batch_2"}, {"$set": {"status": "S"}})
    work[BATCHES].update_one({"id": f"batch_{assigned}"}, {"$set": {"assignee": "Roberto"}})
    batches.mark_changed(work, ["batch_2", f"batch_{assigned}"])
    return {"batches": count, "team": len(names), "assigned": assigned, "uploads": uploads,
            "directory": str(Path(directory).resolve()), "batches_file": str(batches_file)}
