"""The Weekly report page in Chromium: printed without the sidebar and with its chart, and
downloaded as HTML."""

from __future__ import annotations

import pytest
from pymongo import MongoClient

from segcore.store import embedded
from tests.helpers import SCREENSHOTS
from tests.pace_seed import seed_pace

pytestmark = pytest.mark.browser
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


@pytest.fixture(scope="module")
def seeded(app_env):
    env, home = app_env
    client = MongoClient(
        embedded.running_server(home / "db") or embedded.ensure_server(home / "db")
    )
    seed_pace(client.segmentacion_db)
    yield client.segmentacion_db
    client.close()


def test_the_weekly_report_prints_without_the_sidebar_and_downloads_as_html(
    page, app_url, seeded, tmp_path
):
    page.goto(f"{app_url}/weekly_report")
    page.wait_for_selector(CONNECTED, timeout=180_000)
    page.get_by_role("heading", name="Weekly report", exact=True).wait_for(timeout=180_000)
    page.get_by_text("Batches: 39 in total").wait_for(timeout=180_000)
    chart = page.locator(".js-plotly-plot").first
    chart.locator("g.hm image").first.wait_for(timeout=180_000)
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Download as HTML").click()
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    html = saved.read_text()
    assert html.startswith('<!DOCTYPE html><html lang="en">')
    assert "Segmentation weekly report" in html and "<td>Cai</td>" in html

    page.emulate_media(media="print")
    assert page.get_by_test_id("stSidebar").is_hidden()
    assert page.get_by_role("button", name="Download as HTML").is_hidden()
    assert chart.is_visible() and chart.bounding_box()["height"] > 200
    pdf = page.pdf(path=str(SCREENSHOTS / "weekly-report.pdf"))
    assert pdf[:4] == b"%PDF"
    page.emulate_media(media="screen")
    assert page.get_by_test_id("stSidebar").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "weekly-report.png"), full_page=True)
