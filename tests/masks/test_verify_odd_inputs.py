"""The mask check skips the uploads the sync calls unusable, with the sync's reason, and never
opens anything but regular files in a batch folder (a real FIFO, a socket, a symlink loop)."""

import json
import os
import socket
from dataclasses import replace
from datetime import datetime

import pytest
from bson import ObjectId

from segcore.images.batch_images import list_image_names
from segcore.masks.mask_check import verify
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync
from segcore.work import batch_import
from tests.archives import archive_with, fill, images, make_zip, png_bytes

T0 = datetime(2025, 10, 1, 10)
ODD = [  # (changes to a good document, the reason the sync gives)
    ({"_id": {"tool": "x"}}, "_id is not an id (dict)"),
    ({"_id": [1, 2]}, "_id is not an id (list)"),
    ({"length": "big"}, "length is not a number (str): 'big'"),
    ({"length": float("nan")}, "length is nan"),
    ({"length": -5}, "length -5 is not a file size"),
    ({"length": {"n": 5}}, "length is not a number (dict): {'n': 5}"),
    ({"length": True}, "length is not a number (bool): True"),
    ({"length": 2**62}, None),
    ({"filename": None}, "no filename"),
    ({"uploadDate": "today"}, "uploadDate is not a date (str)"),
    ({"uploadDate": datetime(9999, 12, 31, 23)}, "cannot be shown"),
]


@pytest.fixture
def lab(dbs, client, tmp_path):
    data = tmp_path / "data"
    (data / "batch_1").mkdir(parents=True)
    for name in images(4):
        (data / "batch_1" / name).write_bytes(b"\x89PNG")
    dbs.work.batches.insert_one({"id": "batch_1", "number": 1, "folder": str(data / "batch_1")})
    return open_databases(replace(dbs.settings, data_directory=data), client=client)


def test_uploads_the_sync_calls_unusable_are_skipped_with_its_reason(lab, upload):
    upload("batch_1_masks.zip", make_zip(images(4, ext="_mask.png")))
    lab.masks_files.insert_many(
        [
            {
                "_id": ObjectId(),
                "filename": f"batch_1_odd{n}.zip",
                "length": 5,
                "chunkSize": 261120,
                "uploadDate": T0,
                **changes,
            }
            for n, (changes, _) in enumerate(ODD)
        ]
    )
    sync = {f.problem for f in run_sync(lab, full=True).unusable_uploads}
    report = verify(lab, every_batch=True)
    reasons = [s["problem"] for s in report.skipped]
    assert len(reasons) == len(sync) == len(ODD) == report.skipped_count
    assert set(reasons) == sync  # the same words as the sync's
    for _, reason in ODD:
        if reason:
            assert any(reason in r for r in reasons), reason
    assert report.as_dict()["batches"][0]["state"] == "complete"
    # the sync listed the good upload already (its receipt); the odd ones have none
    assert report.checked_uploads == 0 and lab.work.receipts.count_documents({}) == 1


def test_verify_on_the_command_line_names_them(lab, upload, run_cli, tmp_path):
    upload("batch_1_masks.zip", make_zip(images(4, ext="_mask.png")))
    lab.masks_files.insert_one({"_id": {"odd": 1}, "filename": "batch_1_x.zip", "length": "5"})
    env = {"DATA_DIRECTORY": str(lab.settings.data_directory)}
    out = run_cli("verify", "--all", env=env)
    assert out.returncode == 0, out.stderr
    assert (
        "unusable: batch_1_x.zip: length is not a number (str): '5'; _id is not an id (dict)"
        in out.stderr
    )
    found = json.loads(run_cli("verify", "--all", "--json", env=env).stdout)
    assert [s["filename"] for s in found["skipped_uploads"]] == ["batch_1_x.zip"]


def _odd_files(folder):
    os.mkfifo(folder / "img_900.png")  # named like an image
    os.mkfifo(folder / "scan_without_extension")  # would be opened to look for DICOM
    os.symlink("loop_b", folder / "loop_a.png")
    os.symlink("loop_a.png", folder / "loop_b")
    os.symlink("/dev/zero", folder / "zero")  # a device: an endless read
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.png"))
    return sock


def test_a_fifo_socket_device_or_symlink_loop_never_hangs_the_check(lab, upload, run_cli):
    folder = lab.settings.data_directory / "batch_1"
    sock = _odd_files(folder)
    try:
        assert list_image_names(folder) == images(4)
        upload("batch_1_masks.zip", make_zip(images(4, ext="_mask.png")))
        out = run_cli(
            "verify",
            "batch_1",
            "--json",
            timeout=60,
            env={"DATA_DIRECTORY": str(lab.settings.data_directory)},
        )
        assert out.returncode == 0, out.stderr
        row = json.loads(out.stdout)["batches"][0]
        assert (row["state"], row["images"]) == ("complete", 4)
    finally:
        sock.close()


def test_a_fifo_never_hangs_the_import(lab, run_cli, tmp_path):
    folder = lab.settings.data_directory / "batch_1"
    sock = _odd_files(folder)
    try:
        assert batch_import.count_images(folder) == 4
        fifo = tmp_path / "batches.json"
        os.mkfifo(fifo)
        data = lab.settings.data_directory
        os.symlink("batch_9", data / "batch_8")  # a loop and a pipe named like batch folders
        os.symlink("batch_8", data / "batch_9")
        os.mkfifo(data / "batch_7")
        env = {"DATA_DIRECTORY": str(data)}
        out = run_cli("import", "--count-images", "--json", env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["unchanged"] + json.loads(out.stdout)["updated"] == 1
        assert lab.work.batches.find_one({"id": "batch_1"})["image_count"] == 4
        assert lab.work.batches.count_documents({}) == 1
        named = run_cli("import", "--file", str(fifo), env=env, timeout=60)
        assert named.returncode == 1 and "not a regular file" in named.stderr
        assert named.stderr.count("\n") == 1
    finally:
        sock.close()


def test_an_image_named_in_latin1_bytes_stops_no_sync(dbs, upload, run_cli, tmp_path):
    """`img_ñ.png` in Windows-1252 bytes (unzip of a Windows zip, an old SMB copy) in one batch
    folder: every sync and verify runs; the name is stored as an archive member of those bytes
    is (`img_?.png`), so the GNU tar mask written with the same bytes matches it."""
    data = tmp_path / "data"
    for n in (1, 2, 3):
        fill(data / f"batch_{n}", {name: png_bytes() for name in images(2)})
    masks = fill(tmp_path / "masks", {name: png_bytes(1) for name in images(2)})
    for folder, value in ((data / "batch_2", 0), (masks, 1)):
        with open(os.fsencode(folder) + b"/img_\xf1.png", "wb") as odd:
            odd.write(png_bytes(value))
    env = {"DATA_DIRECTORY": str(data)}
    assert run_cli("import", env=env).returncode == 0
    upload("batch_1_masks.zip", make_zip(images(2)))
    upload("batch_2_masks.tar", archive_with("tar", masks, tmp_path / "m.tar", "-c"))
    upload("batch_3_masks.zip", make_zip(images(2)))
    for _ in range(2):
        out = run_cli("sync", env=env)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    delivered = sorted(d["id"] for d in dbs.work.batches.find({"mongo_uploaded": True}))
    assert delivered == ["batch_1", "batch_2", "batch_3"]
    out = run_cli("verify", "--all", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = {row["id"]: (row["state"], row["images"]) for row in json.loads(out.stdout)["batches"]}
    assert rows == {
        "batch_1": ("complete", 2),
        "batch_2": ("complete", 3),
        "batch_3": ("complete", 2),
    }
    stored = dbs.work.batch_images.find_one({"_id": "batch_2"})["names"]
    assert stored == ["img_001.png", "img_002.png", "img_?.png"]


def test_check_masks_on_the_sync_page_lists_them(lab, app_env, upload):
    from tests.helpers import page

    upload("batch_1_masks.zip", make_zip(images(4, ext="_mask.png")))
    lab.masks_files.insert_one({"_id": {"odd": 1}, "filename": "batch_1_x.zip", "length": "5"})
    at = page("sync").run()
    at.button(key="check_masks").click().run(timeout=60)
    assert not at.exception, at.exception
    assert any("Skipped 1 unusable upload (it counts" in c.value for c in at.caption)
    table = next(t.value for t in at.dataframe if "Problem" in t.value.columns)
    assert table["File"].tolist() == ["batch_1_x.zip"]
    assert "_id is not an id (dict)" in table["Problem"][0]


SYSTEM_LEFTOVERS = [
    "@eaDir/img_001.png/SYNOFILE_THUMB_M.jpg",  # Synology's indexer, on the NAS share
    "@eaDir/img_001.png/SYNOFILE_THUMB_XL.jpg",
    "#recycle/img_009.png",  # Synology's recycle bin
    "$RECYCLE.BIN/img_010.png",  # Windows'
    "__MACOSX/._img_002.png",
    ".AppleDouble/img_003.png",
    ".thumbnails/img_004.png",  # any hidden folder
    "Thumbs.db",
    ".DS_Store",
]


def test_system_and_indexer_files_in_a_batch_folder_are_no_images(lab, upload):
    """A batch folder on a Synology share holds the thumbnails its indexer writes: never
    images, so a batch whose every image has its mask is complete, by the same rule that
    leaves them out of an archive."""
    folder = lab.settings.data_directory / "batch_1"
    for name in SYSTEM_LEFTOVERS:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x89PNG")
    assert list_image_names(folder) == images(4)
    zipped = make_zip([*images(4, ext="_mask.png"), *(f"masks/{n}" for n in SYSTEM_LEFTOVERS)])
    upload("batch_1_masks.zip", zipped)
    row = verify(lab, ["batch_1"]).as_dict()["batches"][0]
    assert (row["state"], row["images"], row["masks"]) == ("complete", 4, 4)
    assert row["other_files"] == []


LONG = "c" * 300  # longer than a file name can be (255 bytes): no folder can have it


@pytest.mark.parametrize(
    "odd_batch",
    [
        {"id": "liver_" + LONG, "status": "pending"},  # found as DATA_DIRECTORY/<id>
        {"id": "liver_7", "folder": "DATA/liver/" + LONG, "status": "pending"},
    ],
    ids=["id", "folder"],
)
def test_a_batch_whose_folder_name_is_too_long_stops_no_sync_or_verify(
    lab, upload, run_cli, odd_batch
):
    """Another tool stored a batch id, or a folder, longer than a file name can be: the
    import, every sync runs (the other batch's upload is recorded, the next sync too) and `verify --all` lists
    every batch, that one with the reason its folder cannot be read."""
    data = lab.settings.data_directory
    (data / "liver").mkdir()
    folder = odd_batch.get("folder", "").replace("DATA", str(data))
    lab.work.batches.insert_one(odd_batch | ({"folder": folder} if folder else {}))
    upload("batch_1_masks.zip", make_zip(images(4, ext="_mask.png")))
    upload(f"{odd_batch['id']}.zip", make_zip(images(1, ext="_mask.png")), odd_batch["id"])
    env = {"DATA_DIRECTORY": str(data)}
    imported = run_cli("import", env=env)  # its check of the stored folders too
    assert imported.returncode == 0 and "Traceback" not in imported.stderr, imported.stderr
    for _ in range(2):
        out = run_cli("sync", env=env)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert lab.work.batches.find_one({"id": "batch_1"})["mongo_uploaded"] is True
    out = run_cli("verify", "--all", "--json", env=env)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    rows = {row["id"]: row for row in json.loads(out.stdout)["batches"]}
    assert set(rows) == {"batch_1", odd_batch["id"]} and rows["batch_1"]["state"] == "complete"
    reason = lab.work.batch_images.find_one({"_id": odd_batch["id"]})["error"]
    assert "cannot be read (its name is too long: a folder name can be at most 255" in reason
    text = run_cli("verify", "--all", env=env)
    assert text.returncode == 0 and "its name is too long" in text.stdout, text.stderr


def test_a_batch_folder_that_is_a_file_or_a_link_to_nothing_says_so(tmp_path):
    from segcore.images.batch_images import list_batch_images

    (tmp_path / "batch_1").write_bytes(b"not a folder")
    os.symlink("batch_3", tmp_path / "batch_2")
    os.symlink("batch_2", tmp_path / "batch_3")  # a loop
    reasons = {
        batch_id: list_batch_images({"id": batch_id}, tmp_path).error
        for batch_id in ("batch_1", "batch_2", "batch_4")
    }
    assert reasons == {
        "batch_1": f"folder {tmp_path / 'batch_1'} cannot be read (a file, not a folder)",
        "batch_2": f"folder {tmp_path / 'batch_2'} cannot be read (a link that leads to no folder)",
        "batch_4": f"folder {tmp_path / 'batch_4'} cannot be read (missing or not mounted)",
    }
