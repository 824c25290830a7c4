"""Mask completeness in the pages: Check masks on the Sync page, the Batches page's column,
filter and names (a mask for none of the images sharing its name said so), the Dashboard's
count of complete batches."""

import numpy as np

from segcore.masks.mask_check import verify
from tests.archives import archive_with, images, make_zip
from tests.helpers import page
from tests.masks_content_files import png


def seed(dbs, upload, tmp_path):
    """batch_1: 2 of 3 images have a mask; batch_2: complete; batch_3: nothing uploaded."""
    for number, count in ((1, 3), (2, 2), (3, 2)):
        folder = tmp_path / f"batch_{number}"
        folder.mkdir()
        for name in images(count):
            (folder / name).write_bytes(b"\x89PNG")
        dbs.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "folder": str(folder),
                "status": "pending",
                "mongo_uploaded": number < 3,
            }
        )
    upload("batch_1.zip", make_zip(images(2, ext="_mask.png") + ["stray_mask.png"]))
    upload("masks_batch_2.zip", make_zip(images(2, ext="_seg.png")))


def test_check_masks_on_the_sync_page(app_env, upload, tmp_path):
    seed(app_env, upload, tmp_path)
    at = page("sync").run()
    at.button(key="check_masks").click().run()
    assert not at.exception
    assert any(
        "Masks checked: 2 uploads read" in s.value
        and "1 complete, 1 incomplete" in s.value
        # no sync made their receipts: the check does, and moves their batches as a sync would
        and "First receipts made: 2 (of uploads listed earlier: 0); batch statuses moved: 2."
        in s.value
        for s in at.success
    )
    statuses = {d["id"]: d["status"] for d in app_env.work.batches.find()}
    assert statuses == {"batch_1": "rework", "batch_2": "review", "batch_3": "pending"}
    table = at.dataframe[0].value
    assert table[["id", "state", "missing"]].values.tolist() == [
        ["batch_1", "Incomplete", 1],
        ["batch_2", "Complete", 0],
    ]
    assert app_env.work.mask_checks.count_documents({}) == 2


def test_batches_page_column_filter_and_names(app_env, upload, tmp_path):
    seed(app_env, upload, tmp_path)
    verify(app_env, author="test")
    at = page("batches").run()
    grid = at.dataframe[0].value  # the editable grid
    assert grid.set_index("id")["masks_vs_images"].fillna("not checked").to_dict() == {
        "batch_1": "2 / 3",
        "batch_2": "2 / 2",
        "batch_3": "not checked",
    }
    assert grid.set_index("id")["mask_state"].tolist()[:2] == ["Incomplete", "Complete"]
    at.selectbox(key="bf_check").select("incomplete").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_1"]
    at.selectbox(key="masks_of").select("batch_1").run()
    assert not at.exception
    names = {t.value.columns[0]: t.value.iloc[:, 0].tolist() for t in at.dataframe[1:]}
    assert names["image"] == ["img_003.png"] and names["mask"] == ["stray_mask.png"]
    at.selectbox(key="bf_check").select("(not checked)").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_3"]


def test_dashboard_shows_complete_next_to_with_masks(app_env, upload, tmp_path):
    seed(app_env, upload, tmp_path)
    verify(app_env, author="test")
    at = page("dashboard").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Uploaded"], metrics["Delivered, usable"]) == ("2", "1")


def test_a_batchs_details_word_reasons_in_the_readers_language(
    app_env, upload, tmp_path, monkeypatch
):
    """Reasons stored as codes are worded in Spanish; one stored in English by an earlier
    version is shown as stored; other files and what changed between uploads are listed."""
    from segcore.archives.archive_zip import SPLIT_REASON

    seed(app_env, upload, tmp_path)
    upload("batch_1_v2.zip", make_zip(images(3, ext="_mask.png") + ["labelmap.txt"]))
    upload("batch_1.z01", b"PK\x07\x08" + bytes(100))
    verify(app_env, author="test")
    check = app_env.work.mask_checks.find_one({"filename": "batch_1.z01"})
    assert (check["reason"], check["reason_code"]) == (SPLIT_REASON, SPLIT_REASON)
    old = upload("batch_1_old.zip", b"not a zip")
    verify(app_env, author="test")
    app_env.work.mask_checks.update_one(
        {"_id": old},
        {"$set": {"reason": "unsupported zip (an old reason)"}, "$unset": {"reason_code": 1}},
    )
    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", "es")
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("batches").run()
    at.selectbox(key="masks_of").select("batch_1").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert "batch_1.z01: parte de un archivo dividido" in warnings
    assert "batch_1_old.zip: unsupported zip (an old reason)" in warnings
    assert any("labelmap.txt" in c.value for c in at.caption)
    changes = at.dataframe[-1].value  # the last table: changes between uploads
    v2 = changes.set_index("entrega").loc["batch_1_v2.zip"]
    assert (v2["agregadas"], v2["quitadas"]) == ("img_003_mask.png", "stray_mask.png")


def test_times_on_the_pages_are_the_offices(app_env, upload, tmp_path, monkeypatch):
    """A stored UTC time shows in the office's zone everywhere (here the changes between
    uploads): 23:30 UTC on 5 December is 00:30 on the 6th in Madrid, as the receipts say."""
    from datetime import datetime

    monkeypatch.setenv("TIMEZONE", "Europe/Madrid")
    seed(app_env, upload, tmp_path)
    upload("batch_1_fix.zip", make_zip(images(3, ext="_mask.png")))
    files = app_env.training[f"{app_env.settings.masks_bucket}.files"]
    files.update_one({"filename": "batch_1.zip"}, {"$set": {"uploadDate": datetime(2026, 12, 4)}})
    files.update_one(
        {"filename": "batch_1_fix.zip"}, {"$set": {"uploadDate": datetime(2026, 12, 5, 23, 30)}}
    )
    verify(app_env, author="test")
    at = page("batches").run()
    at.selectbox(key="masks_of").select("batch_1").run()
    [changes] = [t.value for t in at.dataframe if "added" in t.value.columns]
    assert changes["date"].tolist() == ["Dec 6, 2026, 12:30:00\u202fAM"]


def test_a_mask_that_does_not_say_which_same_named_image_is_its_is_shown_as_such(
    app_env, upload, tmp_path
):
    """patient_A/ and patient_B/ both hold img_001.png; a mask at the top of the zip counts
    for neither, and the batch's details say why."""
    for patient in ("patient_A", "patient_B"):
        (tmp_path / "batch_1" / patient).mkdir(parents=True)
        png(tmp_path / "batch_1" / patient / "img_001.png", np.full((8, 8), 90))
    app_env.work.batches.insert_one(
        {"id": "batch_1", "number": 1, "folder": str(tmp_path / "batch_1"), "status": "pending"}
    )
    (tmp_path / "m").mkdir()
    png(tmp_path / "m" / "img_001_mask.png", np.zeros((8, 8)))
    upload("batch_1.zip", archive_with("zip", tmp_path / "m", tmp_path / "batch_1.zip"))
    verify(app_env, author="test")
    at = page("batches").run()
    at.selectbox(key="masks_of").select("batch_1").run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "img_001_mask.png counts for no image: 2 images share its name (patient_A/img_001.png, "
        "patient_B/img_001.png) and its folders do not say which of them it is for."
    ]
    names = {t.value.columns[0]: t.value.iloc[:, 0].tolist() for t in at.dataframe[1:]}
    assert names["image"] == ["patient_A/img_001.png", "patient_B/img_001.png"]
