"""Mask contents in the pages: the Sync page's background check with its outcome, the Batches
page's "Mask problems" filter and a batch's problems in the reader's language."""

import time

from segcore.content.mask_content_check import check_content
from segcore.masks.mask_check import verify
from tests.helpers import page
from tests.masks_content_files import build_batch, pack


def seed(app_env, upload, tmp_path):
    """batch_1: masks with planted defects; batch_2: one right mask."""
    wrong = build_batch(tmp_path / "batch_1", tmp_path / "masks")
    (tmp_path / "batch_2").mkdir()
    (tmp_path / "batch_2" / "img_001.png").write_bytes(
        (tmp_path / "batch_1" / "img_001.png").read_bytes()
    )
    (tmp_path / "masks_2").mkdir()
    (tmp_path / "masks_2" / "img_001_mask.png").write_bytes(
        (tmp_path / "masks" / "img_001_mask.png").read_bytes()
    )
    for number in (1, 2):
        app_env.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "folder": str(tmp_path / f"batch_{number}"),
                "status": "pending",
                "mongo_uploaded": True,
            }
        )
    upload("batch_1_masks.zip", pack(tmp_path / "masks", tmp_path / "1.zip", "zip"))
    upload("masks_batch_2.tar.xz", pack(tmp_path / "masks_2", tmp_path / "2.tar.xz", "tar"))
    verify(app_env, author="test")
    return wrong


def test_sync_page_checks_contents_in_the_background(app_env, upload, tmp_path):
    seed(app_env, upload, tmp_path)
    at = page("sync").run()
    at.button(key="check_content").click().run()
    assert not at.exception
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the run goes on between reruns: wait for its outcome
        at.run()
        if any("Mask contents checked" in s.value for s in at.success):
            break
        time.sleep(0.5)
    assert any("Mask contents checked: 2 uploads read" in s.value for s in at.success), [
        s.value for s in at.success
    ]
    assert app_env.work.mask_content.count_documents({}) == 2


def test_batches_page_filter_and_problems_in_spanish(app_env, upload, tmp_path, monkeypatch):
    seed(app_env, upload, tmp_path)
    check_content(app_env, author="test")
    at = page("batches").run()
    assert sorted(at.dataframe[0].value["id"]) == ["batch_1", "batch_2"]
    at.toggle(key="bf_problems").set_value(True).run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_1"]
    at.selectbox(key="masks_of").select("batch_1").run()
    assert not at.exception
    problems = at.dataframe[-1].value.iloc[:, 0].tolist()
    assert "img_012_mask.png: 512×513, image 512×512" in problems
    assert "img_041_mask.png: label 3 not in 0,1,2" not in problems  # MASK_LABELS unset here
    assert "img_030_mask.png: empty" in problems

    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", "es")
    # AppTest formats selectbox values outside the script run on a rerun (see test_i18n_pages)
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("batches").run()
    at.toggle(key="bf_problems").set_value(True).run()
    at.selectbox(key="masks_of").select("batch_1").run()
    problems = at.dataframe[-1].value.iloc[:, 0].tolist()
    assert "img_012_mask.png: 512×513, imagen 512×512" in problems
    assert "img_030_mask.png: vacía" in problems


def test_a_batch_with_one_mask_checked_says_so_in_the_singular(app_env, upload, tmp_path):
    seed(app_env, upload, tmp_path)
    check_content(app_env, author="test")
    at = page("batches").run()
    at.selectbox(key="masks_of").select("batch_2").run()
    assert not at.exception
    said = [m.value for m in at.markdown if m.value.startswith("Mask contents:")]
    assert said == [
        "Mask contents: 1 mask checked; 0 wrong size, 0 empty, 0 too small, "
        "0 with other labels, 0 unreadable."
    ], said
