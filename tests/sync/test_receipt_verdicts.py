"""What a coordinator sees of an upload after the routine commands: its receipt (usable or not,
masks and matched), the Receipts page's rows and the delivered count agree with what the
checks know. Masks are real PNGs by Pillow, packed by GNU tar (with symbolic and hard links) and
Info-ZIP, stored in GridFS, checked by `segcore` run as a user runs it."""

from __future__ import annotations

import json
import os

import pytest

from segcore.content.mask_content import describe
from segcore.masks.receipts import list_receipts
from tests.archives import archive_with, fill, png_bytes

TARGETS = ("case_a.png", "case_b.png", "case_c.png")


@pytest.fixture
def lab(dbs, tmp_path, run_cli):
    """Batches of three 8×8 PNG images each (`lab.batch`), and `lab.run(*args)`, the command
    line on them."""
    data = tmp_path / "data"

    class Lab:
        work = dbs.work

        @staticmethod
        def batch(batch_id: str) -> None:
            fill(data / batch_id, {f"img_00{n}.png": png_bytes(10 + n) for n in (1, 2, 3)})
            dbs.work.batches.insert_one(
                {"id": batch_id, "folder": str(data / batch_id), "status": "pending"}
            )

        @staticmethod
        def run(*args: str, env: dict | None = None):
            done = run_cli(*args, env={"DATA_DIRECTORY": str(data), **(env or {})}, timeout=300)
            assert done.returncode == 0, done.stderr
            return done

        def delivered(self) -> int:
            return json.loads(self.run("status", "--json").stdout)["delivered"]

        def receipt(self, upload_id) -> dict:
            """The upload's receipt as stored and as the Receipts page shows it (the same)."""
            stored = dbs.work.receipts.find_one({"_id": upload_id})
            shown = next(r for r in list_receipts(dbs.work) if r["_id"] == upload_id)
            fields = ("problem", "usable", "masks", "matched")
            assert {k: shown[k] for k in fields} == {k: stored[k] for k in fields}
            return stored

    return Lab()


def linked_masks(folder, link: str, empty: str | None = None):
    """nnU-Net-style link folders: `masks/img_00N_mask.png` leading to `store/case_x.png`
    (img_003's through `links/c.png`, a link to a link), the targets no mask of any image."""
    fill(folder, {f"store/{t}": png_bytes(0 if t == empty else 200) for t in TARGETS})
    (folder / "masks").mkdir()
    if link == "symbolic":
        (folder / "links").mkdir()
        os.symlink("../store/case_c.png", folder / "links" / "c.png")
    for n, target in enumerate(TARGETS, 1):
        mask = folder / "masks" / f"img_00{n}_mask.png"
        if link == "hard":  # GNU tar stores the later of two hard-linked files as a link
            os.link(folder / "store" / target, mask)
        elif n == 3:
            os.symlink("../links/c.png", mask)
        else:
            os.symlink(f"../store/{target}", mask)
    return folder


@pytest.mark.parametrize(
    "link, members",
    [
        ("symbolic", ("masks", "links", "store")),  # each link before the file it leads to
        ("symbolic", ("store", "links", "masks")),  # after it
        ("hard", ("store", "masks")),
    ],
)
def test_a_tar_whose_masks_link_to_files_under_other_names_is_checked_as_those_files(
    lab, upload, tmp_path, link, members
):
    """The content check read only the members matching an image, so every such link was
    "unreadable (a link to 'store/case_a.png', not a mask this check read)" and the upload not
    usable, where the same folder zipped by `zip -y` was."""
    lab.batch("batch_1")
    lab.batch("batch_2")
    good = linked_masks(tmp_path / "good", link)
    bad = linked_masks(tmp_path / "bad", link, empty="case_b.png")
    fine = upload(
        "batch_1_masks.tar",
        archive_with("tar", good, tmp_path / "good.tar", "-cf", members=members),
    )
    wrong = upload(
        "batch_2_masks.tar", archive_with("tar", bad, tmp_path / "bad.tar", "-cf", members=members)
    )
    lab.run("sync", "--verify", "--content")
    receipt = lab.receipt(fine)
    assert (receipt["problem"], receipt["usable"], receipt["matched"]) == (None, True, 3)
    assert receipt["content"]["checked"] == 3 and receipt["content"]["problems"] == 0
    receipt = lab.receipt(wrong)
    assert (receipt["problem"], receipt["usable"], receipt["matched"]) == ("content", False, 3)
    assert [describe(o) for o in receipt["content"]["offenders"]] == ["img_002_mask.png: empty"]
    assert lab.delivered() == 1


def test_verify_recheck_keeps_the_content_problems_the_stored_check_found(lab, upload, tmp_path):
    """`verify --all --recheck` (the README's advice after changing settings) made receipts
    again from the listings alone: an upload with an empty mask was "usable" on its receipt
    while its stored content result, the Receipts page and the delivered count said not."""
    lab.batch("batch_1")
    masks = {f"img_00{n}_mask.png": png_bytes(0 if n == 2 else 200) for n in (1, 2, 3)}
    zipped = archive_with("zip", fill(tmp_path / "m", masks), tmp_path / "m.zip")
    upload_id = upload("batch_1_masks.zip", zipped)
    lab.run("sync", "--verify", "--content")
    before = lab.receipt(upload_id)
    assert (before["problem"], before["usable"], before["reason"]) == (
        "content",
        False,
        "1 content problem",
    )
    lab.run("verify", "--all", "--recheck")
    after = lab.receipt(upload_id)
    assert (after["problem"], after["usable"], after["reason"]) == (
        "content",
        False,
        "1 content problem",
    )
    assert [describe(o) for o in after["content"]["offenders"]] == ["img_002_mask.png: empty"]
    assert lab.delivered() == 0


def test_a_content_recheck_that_finds_the_problems_gone_makes_the_receipt_usable(
    lab, upload, tmp_path
):
    """`verify --content --recheck` after allowing the label the masks hold (MASK_LABELS, as
    the README advises): the receipt made again keeps the stored result until the content
    check replaces it, and a result without problems makes it usable again."""
    lab.batch("batch_1")
    masks = {f"img_00{n}_mask.png": png_bytes(3) for n in (1, 2, 3)}  # label 3 everywhere
    zipped = archive_with("zip", fill(tmp_path / "m", masks), tmp_path / "m.zip")
    upload_id = upload("batch_1_masks.zip", zipped)
    lab.run("sync", "--verify", "--content", env={"MASK_LABELS": "0,1"})
    receipt = lab.receipt(upload_id)
    assert (receipt["problem"], receipt["reason"]) == ("content", "3 content problems")
    lab.run("verify", "--content", "--recheck", env={"MASK_LABELS": "0,1,3"})
    receipt = lab.receipt(upload_id)
    assert (receipt["problem"], receipt["usable"], receipt["reason"]) == (None, True, None)
    assert receipt["content"]["problems"] == 0
    assert lab.delivered() == 1


@pytest.mark.parametrize("command", [("sync", "--verify", "--content"), ("verify",)])
def test_an_upload_listed_before_its_chunks_were_all_stored_is_read_again_once_they_are(
    lab, upload, dbs, tmp_path, command
):
    """A restore that writes masks.files before masks.chunks (or a writer storing the file
    document first) while a sync runs: the upload is "truncated" then. Its verdict stuck
    through every routine check after the chunks came; only `verify batch_1 --recheck` cleared
    it. The next check reads it again, and only it, once its chunks changed."""
    lab.batch("batch_1")
    lab.batch("batch_2")
    masks = {f"img_00{n}_mask.png": png_bytes(200 + n) for n in (1, 2, 3)}
    zipped = archive_with("zip", fill(tmp_path / "m", masks), tmp_path / "m.zip")
    upload("batch_2_masks.zip", zipped)
    late = upload("batch_1_masks.zip", zipped, chunk_size=256)
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    held = list(chunks.find({"files_id": late, "n": {"$gte": 1}}))
    chunks.delete_many({"files_id": late, "n": {"$gte": 1}})
    lab.run("sync", "--verify", "--content")
    receipt = lab.receipt(late)
    assert (receipt["problem"], receipt["usable"]) == ("unreadable", False)
    assert receipt["reason"].startswith("truncated upload: 1 of ")

    def checked() -> int:
        found = json.loads(lab.run(*command, "--json").stdout)
        return found.get("verify", found)["checked_uploads"]

    assert checked() == 0  # the chunks are as they were: nothing is read again
    chunks.insert_many(held)
    assert checked() == 1  # this upload only
    lab.run("sync", "--verify", "--content")  # its content is owed: checked by the next one
    receipt = lab.receipt(late)
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        None,
        True,
        3,
        3,
    )
    assert receipt["content"]["checked"] == 3 and receipt["content"]["problems"] == 0
    assert lab.delivered() == 2
