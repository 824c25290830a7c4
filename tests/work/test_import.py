"""Importing the batch list: file shapes, malformed files, folder scans, idempotent re-import."""

import json
from pathlib import Path

import pytest

from segcore.core.errors import ImportFileError
from segcore.work import batch_import, batches, batches_file, import_merge
from segcore.work.batch_import import import_batches, import_from_sources
from segcore.work.batches_file import BatchEntry, parse_batches_json


@pytest.mark.parametrize(
    "text,ids,folders",
    [
        ('["batch_1", "batch_2"]', ["batch_1", "batch_2"], ["/d/batch_1", "/d/batch_2"]),
        (
            '["/data/a/batch_1", "/data/a/batch_2/"]',
            ["batch_1", "batch_2"],
            ["/data/a/batch_1", "/data/a/batch_2/"],
        ),
        (
            '[{"id": "batch_1", "folder": "/x/batch_1"}, {"folder": "/x/batch_2"}]',
            ["batch_1", "batch_2"],
            ["/x/batch_1", "/x/batch_2"],
        ),
        ('[{"id": "batch_7"}]', ["batch_7"], [None]),
        ('{"batches": ["batch_1"]}', ["batch_1"], ["/d/batch_1"]),
        (
            '{"version": 2, "folders": [{"id": " batch_3 ", "folder": "batch_3"}]}',
            ["batch_3"],
            ["/d/batch_3"],
        ),
        ("[]", [], []),
        # JSON Lines of one line: a name as well as an object (mongoexport of one batch)
        ('"batch_1"\n', ["batch_1"], ["/d/batch_1"]),
        ('"batch_1"\n"batch_2"\n', ["batch_1", "batch_2"], ["/d/batch_1", "/d/batch_2"]),
        ('{"id": "batch_1"}\n', ["batch_1"], [None]),
    ],
)
def test_accepted_shapes(text, ids, folders):
    from pathlib import Path

    entries = parse_batches_json(text, base=Path("/d"))
    assert [e.id for e in entries] == ids
    assert [e.folder for e in entries] == folders


def test_extra_fields_kept():
    [entry] = parse_batches_json('[{"id": "batch_1", "images": 120, "site": "irapuato"}]')
    assert entry.extra == {"images": 120, "site": "irapuato"}


@pytest.mark.parametrize(
    "text,where",
    [
        ('[{"id": "batch_1"},', "line 1"),
        ('{"a": [], "b": []}', "exactly one list"),
        ("42", "found int"),
        (
            '[{"id": "batch_1"}, {"id": "batch_1"}]',
            "item 2 repeats batch 'batch_1' (already at item 1)",
        ),
        ('["batch_4", "batch_04"]', "item 2 repeats"),
        ('[{"id": 12}]', "item 1: 'id' must be a string, found int"),
        ("[42]", "item 1 must be a folder name"),
        ('[{"name": "x"}]', "item 1 has neither"),
        ('[{"id": "b", "folder": 3}]', "'folder' must be a string"),
    ],
)
def test_malformed_file_says_where(text, where):
    with pytest.raises(ImportFileError) as exc:
        parse_batches_json(text, source="batches.json")
    assert where in str(exc.value) and "batches.json" in str(exc.value)


def test_malformed_file_writes_nothing(db, tmp_path):
    bad = tmp_path / "batches.json"
    bad.write_text('[{"id": "batch_1"}, {"id": 2}]')
    with pytest.raises(ImportFileError):
        import_from_sources(db, bad, None, "me")
    assert db.batches.count_documents({}) == 0


def _folders(root, numbers, images=2):
    for n in numbers:
        folder = root / f"batch_{n}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(images):
            (folder / f"img_{i}.png").write_bytes(b"x")
        (folder / "notes.txt").write_text("not an image")
    (root / "not_a_batch").mkdir(exist_ok=True)


def test_scan_counts_images_with_progress(tmp_path):
    _folders(tmp_path, [2, 10, 1], images=3)
    seen = []
    entries = batch_import.scan_data_directory(tmp_path, True, lambda d, t: seen.append((d, t)))
    assert [e.id for e in entries] == ["batch_1", "batch_2", "batch_10"]
    assert {e.image_count for e in entries} == {3}
    assert seen[-1] == (3, 3)


def test_reimport_is_idempotent_and_never_touches_assignments(db, tmp_path):
    _folders(tmp_path, range(1, 6))
    first = import_from_sources(db, None, tmp_path, "me")
    assert first.added == 5
    db.batches.update_one(
        {"id": "batch_2"},
        {
            "$set": {
                "assignee": "Flor",
                "status": "S",
                "mongo_uploaded": True,
                "training_metrics_info": {"file_count": 1},
                "metadata": {"priority": "alta"},
            }
        },
    )
    before = db.batches.find_one({"id": "batch_2"}, {"_id": 0})
    again = import_from_sources(db, None, tmp_path, "me")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    assert db.batches.find_one({"id": "batch_2"}, {"_id": 0}) == before


def test_file_and_scan_merge_and_folder_updates(db, tmp_path):
    _folders(tmp_path, [1, 2])
    listing = tmp_path / "batches.json"
    listing.write_text(
        json.dumps(
            [
                {"id": "batch_1", "folder": "/old/place/batch_1"},
                {"id": "batch_3", "folder": "/elsewhere/batch_3"},
            ]
        )
    )
    result = import_from_sources(db, listing, tmp_path, "me")
    assert result.added == 3
    # the file's folder is not on disk, the scanned one is: that one, and said
    assert db.batches.find_one({"id": "batch_1"})["folder"] == str(tmp_path / "batch_1")
    assert result.other_folders == {
        "batch_1": {
            "folder": str(tmp_path / "batch_1"),
            "not_used": "/old/place/batch_1",
            "on_disk": False,
        }
    }
    moved = tmp_path / "new" / "place" / "batch_1"
    moved.mkdir(parents=True)
    listing.write_text(json.dumps([{"id": "batch_1", "folder": str(moved)}]))
    result = import_from_sources(db, listing, None, "me")
    assert result.updated == 1 and db.batches.find_one({"id": "batch_1"})["folder"] == str(moved)


def test_disappeared_folders_are_flagged_not_deleted(db, tmp_path):
    _folders(tmp_path, [1, 2, 3])
    import_from_sources(db, None, tmp_path, "me")
    (tmp_path / "batch_2" / "img_0.png").unlink()
    for f in (tmp_path / "batch_2").iterdir():
        f.unlink()
    (tmp_path / "batch_2").rmdir()
    result = import_from_sources(db, None, tmp_path, "me")
    assert result.flagged_missing == ["batch_2"]
    assert db.batches.count_documents({}) == 3
    assert db.batches.find_one({"id": "batch_2"})["folder_missing"] is True
    assert (
        db.batches.count_documents(batches.build_filter(batches.BatchQuery(folder_missing=True)))
        == 1
    )
    _folders(tmp_path, [2])
    result = import_from_sources(db, None, tmp_path, "me")
    assert result.restored == ["batch_2"]
    assert db.batches.find_one({"id": "batch_2"})["folder_missing"] is False


def test_legacy_batches_gain_a_number_but_keep_their_fields(db):
    legacy = {
        "id": "batch_400",
        "assignee": "Flor",
        "folder": "/p/batch_400",
        "status": "S",
        "metadata": {"assigned_at": "2025-09-15", "due_date": "2025-09-30"},
    }
    db.batches.insert_one(dict(legacy))
    import_batches(
        db, [BatchEntry("batch_400", "/p/batch_400"), BatchEntry("batch_401", None)], "me"
    )
    doc = db.batches.find_one({"id": "batch_400"}, {"_id": 0})
    assert doc == {**legacy, "number": 400}
    new = db.batches.find_one({"id": "batch_401"})
    assert new["status"] == "pending" and new["assignee"] is None and new["number"] == 401


def test_a_replaced_folder_is_recorded_in_the_history_with_its_old_value(db, run_cli, tmp_path):
    """Probe 10: the first import over a legacy database replaced every stored folder and the
    history kept only counts: the old dashboard's paths were recorded nowhere."""
    from segcore.store.history import list_history

    old = "/home/faservin/american_project/batch_400"
    db.batches.insert_many(
        [
            {"id": "batch_400", "assignee": "Flor", "folder": old, "status": "S"},
            {"id": "batch_401", "status": "pending"},  # no folder before: nothing replaced
        ]
    )
    data = tmp_path / "data"
    _folders(data, [400, 401])
    out = run_cli("import", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    [entry] = list_history(db, key="batch_400")
    assert (entry["kind"], entry["field"], entry["old"], entry["new"]) == (
        "batch",
        "folder",
        old,
        str(data / "batch_400"),
    )
    assert list_history(db, key="batch_401") == []
    assert len(list_history(db, kind="import")) == 1
    run_cli("import", "--data-dir", str(data))  # unchanged: nothing more recorded
    assert len(list_history(db, key="batch_400")) == 1


def test_nothing_to_import(db):
    with pytest.raises(ImportFileError) as exc:
        import_from_sources(db, None, None, "me")
    assert "Nothing to import" in str(exc.value)


def test_a_small_file_flags_nothing_that_exists(db, tmp_path):
    # Issue 10 item 11: importing a three-batch file flagged every other batch "folder missing".
    _folders(tmp_path, range(1, 7))
    import_from_sources(db, None, tmp_path, "me")
    listing = tmp_path / "three.json"
    listing.write_text(json.dumps(["batch_1", "batch_2", "batch_9"]))
    result = import_from_sources(db, listing, tmp_path, "me")
    # Only the listed batch whose folder is not on disk (issue 24 item 2) is flagged.
    assert (result.added, result.flagged_missing) == (1, ["batch_9"])
    assert db.batches.count_documents({"folder_missing": True}) == 1
    # Without a data directory nothing can be checked on disk, so nothing is flagged either.
    result = import_from_sources(db, listing, None, "me")
    assert result.flagged_missing == []


@pytest.mark.parametrize(
    "on_disk, expected",
    [
        ({"batch_1", "batch_2"}, []),  # folders present under DATA_DIRECTORY
        ({"batch_1"}, ["batch_2"]),  # batch_2's folder is really gone
    ],
)
def test_only_a_folder_absent_on_disk_is_flagged(on_disk, expected):
    existing = [
        {"id": "batch_1", "folder": "/mnt/a/batch_1"},
        {"id": "batch_2", "folder": "/mnt/a/batch_2"},
    ]
    _inserts, _updates, result = batch_import.plan_import(
        [], existing, lambda doc: doc["id"] in on_disk
    )
    assert result.flagged_missing == expected
    assert batch_import.plan_import([], existing)[2].flagged_missing == []


def test_folders_mounted_elsewhere_still_count_as_present(db, tmp_path):
    _folders(tmp_path, [1])
    present = batch_import.folder_checker(tmp_path)
    assert present({"id": "batch_1", "folder": "/office/path/batch_1"}) is True
    assert present({"id": "batch_5", "folder": "/office/path/batch_5"}) is False
    assert present({"id": "batch_6"}) is False  # no folder: only DATA_DIRECTORY/batch_6 counts
    assert batch_import.folder_checker(tmp_path / "not-there") is None


def test_preview_writes_nothing(db, tmp_path):
    _folders(tmp_path, [1, 2])
    import_from_sources(db, None, tmp_path, "me")
    entries = [BatchEntry("batch_1", str(tmp_path / "batch_1")), BatchEntry("batch_3", None)]
    preview = batch_import.preview_import(db, entries, batch_import.folder_checker(tmp_path))
    assert (preview.added, preview.unchanged, preview.flagged_missing) == (1, 1, ["batch_3"])
    assert db.batches.count_documents({}) == 2


def test_a_listed_folder_absent_on_disk_is_flagged_new_or_old(db, tmp_path):
    # Issue 24 item 2: a batch listed in batches.json whose folder is not on disk was imported
    # unflagged (the preview said 0 missing) and then handed out by "spread evenly".
    from segcore.team import team
    from segcore.work import assignments

    team.add_member(db, "Flor", author="me")
    _folders(tmp_path, [1])
    db.batches.insert_one(
        {
            "id": "batch_2",
            "folder": str(tmp_path / "batch_2"),
            "status": "pending",
            "assignee": None,
        }
    )
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps(["batch_1", "batch_2", "batch_3"]))
    entries = batches_file.read_batches_file(listing, base=tmp_path)
    preview = batch_import.preview_import(db, entries, batch_import.folder_checker(tmp_path))
    assert sorted(preview.flagged_missing) == ["batch_2", "batch_3"]
    result = import_from_sources(db, listing, tmp_path, "me")
    assert sorted(result.flagged_missing) == ["batch_2", "batch_3"]
    assert {d["id"] for d in db.batches.find({"folder_missing": True})} == {"batch_2", "batch_3"}
    given = assignments.balance_pending(db, ["Flor"], "me").given
    assert given == {"Flor": 1}
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Flor"
    assert db.batches.count_documents({"assignee": "Flor"}) == 1
    # The folder appears: the next import clears the flag.
    _folders(tmp_path, [3])
    result = import_from_sources(db, listing, tmp_path, "me")
    assert result.restored == ["batch_3"] and result.flagged_missing == []


def test_a_batch_without_a_folder_not_under_the_data_directory_is_flagged(db, run_cli, tmp_path):
    """Probe 10: a batch listed by id alone (or with an empty folder), or a legacy document
    without a folder, whose DATA_DIRECTORY/<id> does not exist was imported unflagged and
    handed out by "next N pending", while the same batch listed with its folder was flagged."""
    data = tmp_path / "data"
    _folders(data, [1])
    db.batches.insert_one({"id": "batch_406", "status": "pending", "assignee": None})
    listing = tmp_path / "b.json"
    listing.write_text(
        json.dumps(
            [
                {"id": "batch_1"},
                {"id": "batch_20"},
                "batch_21",
                {"id": "batch_22", "folder": ""},
            ]
        )
    )
    entries = batches_file.read_batches_file(listing, base=data)
    preview = batch_import.preview_import(db, entries, batch_import.folder_checker(data))
    missing = ["batch_20", "batch_21", "batch_22", "batch_406"]
    assert sorted(preview.flagged_missing) == missing
    out = run_cli("import", "--file", str(listing), "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    assert "4 flagged as missing" in out.stdout
    assert sorted(d["id"] for d in db.batches.find({"folder_missing": True})) == missing
    assert batches.next_pending_ids(db, 10) == ["batch_1"]
    # Its folder appears under DATA_DIRECTORY: the next import clears the flag.
    _folders(data, [20])
    result = import_from_sources(db, listing, data, "me")
    assert result.restored == ["batch_20"]


def test_the_import_counts_images_by_the_mask_checks_extensions(tmp_path):
    """One list of image extensions (config's MASK_EXTENSIONS default): a NumPy volume or a
    Slicer segmentation in a folder is an image for the import's count as for the mask check."""
    from segcore.settings.config import Settings

    for name in ("a.png", "b.npy", "c.seg.nrrd", "d.nii.gz", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert batch_import.count_images(tmp_path) == 4
    assert batch_import.IMAGE_SUFFIXES == Settings.mask_extensions


def test_a_list_exported_from_the_collection_brings_no_delivery(db, tmp_path, run_cli):
    """`mongoexport --jsonArray` of another deployment's batches: ids, folders and the lab's own
    keys come in; the mask check, content check and review that other deployment wrote do not,
    so `status` counts nothing delivered without an upload."""
    exported = [
        {
            "id": "batch_1",
            "folder": "/data/batch_1",
            "site": "Hospital Norte",
            "status": "review",
            "mask_check": {"state": "complete", "images": 3, "missing_count": 0, "usable": True},
            "mask_content": {"checked": 3, "problems": 0},
            "review": {"accepted_at": "2026-01-05"},
            "rework_reason": "old note",
            "status_move_entry": {"$oid": "6575a1b2c3d4e5f601234567"},
        }
    ]
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps(exported))
    done = run_cli("import", "--file", str(listing))
    assert done.returncode == 0, done.stderr
    doc = db.batches.find_one({"id": "batch_1"}, {"_id": 0})
    assert doc["site"] == "Hospital Norte" and doc["status"] == "pending"
    written = {"mask_check", "mask_content", "review", "rework_reason", "status_move_entry"}
    assert not written & set(doc)
    status = run_cli("status", "--json")
    assert json.loads(status.stdout)["delivered"] == 0


def test_a_relative_batches_file_stores_absolute_folders(db, run_cli, tmp_path):
    """`import --file batches.json` run in the data folder stored `folder: "batch_1"`, which
    the app and the timers, running elsewhere, never found."""
    _folders(tmp_path, [1, 2])
    (tmp_path / "batches.json").write_text(json.dumps(["batch_1", {"folder": "batch_2"}]))
    out = run_cli("import", "--file", "batches.json")  # run in tmp_path, as a coordinator would
    assert out.returncode == 0, out.stderr
    assert {d["id"]: d["folder"] for d in db.batches.find()} == {
        "batch_1": str(tmp_path / "batch_1"),
        "batch_2": str(tmp_path / "batch_2"),
    }


def test_folders_of_a_file_read_against_a_relative_folder_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = json.dumps(["batch_1", "sub/batch_2", "/srv/data/batch_3"])
    entries = batches_file.parse_batches_json(text, base=Path("data"))
    assert [e.folder for e in entries] == [
        str(tmp_path / "data" / "batch_1"),
        str(tmp_path / "data" / "sub" / "batch_2"),
        "/srv/data/batch_3",
    ]


def test_folders_naming_one_batch_keep_the_exact_name_and_say_so(tmp_path):
    """batch_5, a leftover (empty) batch_05 and batch_5_redo: batch_05 was kept, silently."""
    _folders(tmp_path, [5, "05", "5_redo", "07", "007", 8])
    same = []
    entries = batch_import.scan_data_directory(tmp_path, same_batch=same)
    assert [(e.id, e.folder) for e in entries] == [
        ("batch_5", str(tmp_path / "batch_5")),
        ("batch_8", str(tmp_path / "batch_8")),
    ]
    assert same == [
        import_merge.SameBatch("batch_5", "batch_5", ("batch_05", "batch_5_redo")),
        import_merge.SameBatch("batch_7", None, ("batch_007", "batch_07")),
    ]


def test_a_scan_of_folders_naming_one_batch_imports_the_exact_one_and_reports_the_others(
    db, run_cli, tmp_path
):
    data = tmp_path / "data"
    _folders(data, ["05", "5_redo", 6], images=0)
    _folders(data, [5], images=2)  # the real one
    out = run_cli("import", "--data-dir", str(data), "--count-images")
    assert out.returncode == 1  # as for any refused folder: the rest is imported
    assert "2 added" in out.stdout and "2 refused" in out.stdout
    assert [line for line in out.stderr.splitlines() if line.startswith("refused")] == [
        "refused: 'batch_05' names the same batch as folder 'batch_5', which is imported "
        "instead; nothing was written for it",
        "refused: 'batch_5_redo' names the same batch as folder 'batch_5', which is imported "
        "instead; nothing was written for it",
    ]
    stored = {d["id"]: (d["folder"], d["image_count"]) for d in db.batches.find()}
    assert stored == {"batch_5": (str(data / "batch_5"), 2), "batch_6": (str(data / "batch_6"), 0)}


def test_a_link_named_like_a_batch_is_not_a_second_batch_on_the_same_folder(db, run_cli, tmp_path):
    """Probe 10: `batch_7 -> batch_1` in DATA_DIRECTORY was imported as a second batch stored
    with batch_1's folder, its images counted twice, without a word."""
    data = tmp_path / "data"
    _folders(data, [1, 2])
    (data / "batch_7").symlink_to("batch_1")
    out = run_cli("import", "--data-dir", str(data), "--count-images")
    assert out.returncode == 1  # as for any refused folder: the rest is imported
    assert "2 added" in out.stdout and "1 refused" in out.stdout
    assert [line for line in out.stderr.splitlines() if line.startswith("refused")] == [
        f"refused: 'batch_7' names the folder of batch 'batch_1' ({data / 'batch_1'}), which "
        "is imported instead; nothing was written for it"
    ]
    stored = {d["id"]: (d["folder"], d["image_count"]) for d in db.batches.find()}
    assert stored == {"batch_1": (str(data / "batch_1"), 2), "batch_2": (str(data / "batch_2"), 2)}


@pytest.mark.parametrize(
    "items, kept, refused",
    [
        # a file naming the link: the batch the folder is named for stays
        ([{"id": "batch_7", "folder": "batch_7"}, "batch_1"], ["batch_1"], ("batch_7",)),
        # two items naming one folder, named for neither: none of them
        (
            [{"id": "lote_a", "folder": "shared"}, {"id": "lote_b", "folder": "shared/"}],
            [],
            ("lote_a", "lote_b"),
        ),
    ],
)
def test_batches_naming_one_folder_are_never_imported_silently(tmp_path, items, kept, refused):
    _folders(tmp_path, [1])
    (tmp_path / "batch_7").symlink_to("batch_1")
    (tmp_path / "shared").mkdir()
    listing = tmp_path / "b.json"
    listing.write_text(json.dumps(items))
    shared = []
    entries = import_merge.merge_sources(
        batches_file.read_batches_file(listing, base=tmp_path), shared=shared
    )
    assert [e.id for e in entries] == kept
    [group] = shared
    assert group.others == refused
    assert group.folder == str((tmp_path / ("batch_1" if kept else "shared")).resolve())


def _leftover_beside_the_real_batch_1(data):
    """`batch_1` holds the images, `batch_01` is an empty leftover, and the batches file is an
    older list naming the leftover."""
    _folders(data, [2])
    _folders(data, [1], images=2)
    (data / "batch_01").mkdir()
    (data / "batches.json").write_text(json.dumps(["batch_01", "batch_2"]))


@pytest.mark.parametrize("stored_before", [False, True])
def test_a_file_naming_a_leftover_folder_imports_the_exact_one_as_the_message_says(
    db, run_cli, tmp_path, stored_before
):
    """The import said "'batch_01' ... folder 'batch_1', which is imported instead" and stored
    batch_01 -> the empty leftover, without batch_1 (the folder holding the images); with
    batch_1 already stored, it re-pointed it to the leftover."""
    data = tmp_path / "data"
    _leftover_beside_the_real_batch_1(data)
    if stored_before:
        db.batches.insert_one({"id": "batch_1", "folder": str(data / "batch_1"), "number": 1})
    out = run_cli("import", "--data-dir", str(data), "--file", str(data / "batches.json"))
    assert out.returncode == 1, out.stderr  # one folder refused, the rest imported
    assert [line for line in out.stderr.splitlines() if line.startswith("refused")] == [
        "refused: 'batch_01' names the same batch as folder 'batch_1', which is imported "
        "instead; nothing was written for it"
    ]
    assert {d["id"]: d["folder"] for d in db.batches.find()} == {
        "batch_1": str(data / "batch_1"),
        "batch_2": str(data / "batch_2"),
    }


def test_a_file_naming_one_of_two_leftovers_imports_neither(db, tmp_path):
    """`batch_01` and `batch_001`, no `batch_1`: "none of them is imported", the file's naming
    one of them included."""
    data = tmp_path / "data"
    _folders(data, ["01", "001", 2])
    (data / "batches.json").write_text(json.dumps(["batch_01", "batch_2"]))
    result = import_from_sources(db, data / "batches.json", data, "me")
    assert sorted(result.refused) == ["batch_001", "batch_01"]
    assert [d["id"] for d in db.batches.find()] == ["batch_2"]


def test_an_import_never_moves_a_batch_from_its_folder_to_one_not_on_disk(db, run_cli, tmp_path):
    """A batches file kept elsewhere, listing `batch_01` and `Batch_2`: the delivered batch_1
    and batch_2 were re-pointed to `elsewhere/batch_01` and `elsewhere/Batch_2`, which do not
    exist, without a word (the next mask check found no images). A folder that is on disk is
    kept and the batch named; a folder on disk is still taken, and a folder already gone is
    still replaced."""
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    _folders(data, [1, 2, 4])
    _folders(elsewhere, [4])
    db.batches.insert_many(
        [
            {"id": f"batch_{n}", "folder": str(data / f"batch_{n}"), "number": n}
            for n in (1, 2, 3, 4)  # batch_3's folder is gone already
        ]
    )
    listing = elsewhere / "batches.json"
    listing.write_text(json.dumps(["batch_01", "Batch_2", "batch_3", "batch_4"]))
    out = run_cli("import", "--file", str(listing))
    assert out.returncode == 1, out.stderr  # not everything the file asked was done
    assert "2 updated, 2 unchanged" in out.stdout and "2 kept their folder" in out.stdout
    assert [line for line in out.stderr.splitlines() if line.startswith("kept")] == [
        f"kept: 'batch_1' stays at '{data / 'batch_1'}': '{elsewhere / 'batch_01'}' is not "
        "a folder on disk",
        f"kept: 'batch_2' stays at '{data / 'batch_2'}': '{elsewhere / 'Batch_2'}' is not "
        "a folder on disk",
    ]
    assert {d["id"]: d["folder"] for d in db.batches.find()} == {
        "batch_1": str(data / "batch_1"),
        "batch_2": str(data / "batch_2"),
        "batch_3": str(elsewhere / "batch_3"),
        "batch_4": str(elsewhere / "batch_4"),
    }
    out = run_cli("import", "--file", str(listing), "--json")
    assert json.loads(out.stdout)["kept_folders"] == {
        "batch_1": {"kept": str(data / "batch_1"), "not_on_disk": str(elsewhere / "batch_01")},
        "batch_2": {"kept": str(data / "batch_2"), "not_on_disk": str(elsewhere / "Batch_2")},
    }


def test_a_file_spelling_a_folder_another_way_uses_the_folder_on_disk_and_says_so(
    db, run_cli, tmp_path
):
    """Probe 11: `["batch_07"]` (the spreadsheet's zero-padded spelling) beside the folder
    `batch_7` stored the absent `batch_07`, flagged missing for good, without a word."""
    data = tmp_path / "data"
    _folders(data, [7])
    (data / "batch_7" / "img_001.png").write_bytes(b"x")
    listing = tmp_path / "batches.json"
    listing.write_text('["batch_07"]')
    for _ in range(2):  # and again: the same answer, nothing flagged
        out = run_cli("import", "--file", str(listing), "--data-dir", str(data))
        assert out.returncode == 1, out.stderr  # the file's folder was not the one used
        assert "0 flagged as missing" in out.stdout
        assert (
            f"chose: 'batch_07' at '{data / 'batch_7'}', on disk: '{data / 'batch_07'}', also "
            "named for it, is not a folder on disk"
        ) in out.stderr
    assert list(db.batches.find({}, {"_id": 0, "id": 1, "folder": 1, "folder_missing": 1})) == [
        {"id": "batch_07", "folder": str(data / "batch_7")}
    ]


def test_count_images_counts_the_folder_stored_and_names_the_other(db, run_cli, tmp_path):
    """Probe 11: a file naming batch_7's folder elsewhere (1 image) while DATA_DIRECTORY holds
    another batch_7 (2 images): the batch was stored with the file's folder and the scanned
    folder's count, and the choice was made without a word."""
    data, other = tmp_path / "data", tmp_path / "other"
    _folders(data, [7], images=2)
    _folders(other, [7], images=1)
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps([{"id": "batch_7", "folder": str(other / "batch_7")}]))
    out = run_cli("import", "--file", str(listing), "--data-dir", str(data), "--count-images")
    assert out.returncode == 1
    assert (
        f"chose: 'batch_7' at '{other / 'batch_7'}', on disk: '{data / 'batch_7'}' names it "
        "too and is not used"
    ) in out.stderr
    stored = db.batches.find_one({"id": "batch_7"})
    assert (stored["folder"], stored["image_count"]) == (str(other / "batch_7"), 1)


def test_a_batch_kept_in_another_machines_folder_is_found_where_the_import_found_it(db, tmp_path):
    """Probe 11: `batch_7` stored at the old server's `.../batch_007`: the import found it as
    DATA_DIRECTORY/batch_007, the mask check only looked for DATA_DIRECTORY/batch_7 and said
    the folder could not be read, so the batch could never be delivered."""
    from segcore.images.batch_images import batch_folder

    data = tmp_path / "data"
    (data / "batch_007").mkdir(parents=True)
    doc = {"id": "batch_7", "folder": "/home/old/american_project/batch_007"}
    assert batch_import.folder_checker(data)(doc) is True
    assert batch_folder(doc, data) == data / "batch_007"
    # with the scan, the folder on disk is the one stored
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps([doc]))
    result = import_from_sources(db, listing, data, "me")
    assert result.flagged_missing == []
    assert db.batches.find_one({"id": "batch_7"})["folder"] == str((data / "batch_007").resolve())
