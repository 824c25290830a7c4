"""The dashboard against the real test database: KPIs, charts, filters, the demo offer."""

import subprocess
import sys
import time
from datetime import datetime

import pytest
import streamlit as st
from babel.dates import format_date

from segcore.store import embedded
from tests.helpers import chart_titles, charts, page, shown
from tests.pace_seed import seed_pace


def test_kpis_and_the_four_charts(demo_dbs):
    at = page("dashboard").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batches"] == "60" and metrics["Assigned"] == "45"
    assert int(metrics["Uploaded"]) > 0
    assert metrics["Last sync"].endswith("ago")
    assert chart_titles(at) == [
        "Delivered vs uploaded vs without masks",
        "Per segmentador",
        "Uploads per day",
        "Burn-down of batches not delivered (usable masks)",
        "Deliveries per week",
    ]
    drawn = charts(at)
    assert list(drawn) == [
        "chart_done",
        "chart_people",
        "chart_uploads",
        "chart_burndown",
        "chart_pace",
    ]
    pie = drawn["chart_done"]["data"][0]
    assert pie["values"] == [
        int(metrics["Delivered, usable"]),
        int(metrics["Uploaded"]) - int(metrics["Delivered, usable"]),
        int(metrics["Without masks"]),
    ]
    people = drawn["chart_people"]["data"][0]["y"]  # horizontal bars: names on the y axis
    assert "Roberto (not on the team)" in people and "Ceci" in people
    assert sum(drawn["chart_uploads"]["data"][0]["y"]) > 0
    assert any("projected finish" in c.value for c in at.caption)


def test_attention_panel_names_stalled_people_and_batches_at_risk(app_env):
    seed_pace(app_env.work)
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert [h.value for h in at.subheader] == ["Attention"]
    text = " ".join(shown(m.value) for m in at.markdown)
    assert "1 stalled" in text and "Cai (20 days)" in text
    assert "3 batches at risk" in text and "batch_7 (Zoe)" in text
    assert "3 suggested moves: review and apply them on the **Suggested moves** page." in [
        shown(m.value) for m in at.markdown
    ]
    pace_chart = charts(at)["chart_pace"]
    heat = pace_chart["data"][0]
    assert heat["y"] == ["Cai", "Bea", "Ana"] and len(heat["x"]) == 8
    assert [sum(row) for row in heat["z"]] == [1, 20, 10]  # every delivery of the 8 weeks


def test_a_huge_stored_assignee_is_cut_in_the_attention_panel(app_env):
    """Another tool's 20,000-character assignee is named by its first 80 characters and an
    ellipsis; the link to the batch still filters by the stored batch."""
    seed_pace(app_env.work)
    app_env.work.batches.update_one({"id": "batch_7"}, {"$set": {"assignee": "Z" * 20_000}})
    at = page("dashboard").run()
    assert not at.exception, at.exception
    text = " ".join(shown(m.value) for m in at.markdown)
    assert f"batch_7 ({'Z' * 80}…)" in text
    assert "Z" * 81 not in text


def test_no_attention_panel_when_nothing_needs_attention(app_env):
    app_env.work.batches.insert_one({"id": "batch_1", "number": 1, "status": "pending"})
    at = page("dashboard").run()
    assert not at.exception
    assert [h.value for h in at.subheader] == []
    assert not any("suggested moves" in m.value for m in at.markdown)


def test_no_figure_is_called_done_or_pending(demo_dbs):
    """Figures about masks are named for masks: "Done 41 %" next to a Status filter where no
    batch is done read as a contradiction."""
    at = page("dashboard").run()
    labels = [m.label for m in at.metric]
    assert labels == [
        "Batches",
        "Assigned",
        "Uploaded",
        "Delivered, usable",
        "Without masks",
        "% delivered",
        "Last sync",
    ]
    assert not any("pending" in c.value.split("**")[0] for c in at.caption)


def test_filters_apply_to_kpis_and_charts(demo_dbs):
    at = page("dashboard").run()
    at.selectbox(key="dash_who").select("Flor").run()
    assert not at.exception
    flor = demo_dbs.work.batches.count_documents({"assignee": "Flor"})
    assert {m.label: m.value for m in at.metric}["Batches"] == str(flor)
    assert charts(at)["chart_people"]["data"][0]["y"] == ["Flor"]
    at.selectbox(key="dash_status").select("S").run()
    assert {m.label: m.value for m in at.metric}["Batches"] in ("0", "1")


def test_stale_sync_warning(app_env):
    app_env.work.batches.insert_one({"id": "batch_1", "status": "pending"})
    at = page("dashboard").run()
    assert any("No sync has run yet" in w.value for w in at.warning)


@pytest.fixture
def embedded_empty(tmp_path, monkeypatch):
    """An empty embedded server, as a newcomer's first start creates it."""
    import streamlit as st

    path = tmp_path / "db"
    for name in ("MONGO_URI", "DATA_DIRECTORY", "BATCHES_FILE", "MONGO_DB", "TRAINING_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMBEDDED_DB_PATH", str(path))
    monkeypatch.setenv("LANGUAGE", "en")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()
    embedded.stop_server(path)


def test_first_start_offers_the_demo_after_asking(embedded_empty):
    at = page("dashboard").run()
    assert not at.exception
    assert any("database is empty" in i.value for i in at.info)
    at.button(key="demo_ask").click().run()
    at.button(key="demo_yes").click().run()
    assert not at.exception
    assert any("Demo loaded: 300 batches" in s.value for s in at.success)
    assert (embedded_empty.parent / "demo-data" / "batches.json").is_file()
    entry = page("streamlit_app").run()
    assert any("Demo data" in w.value for w in entry.warning)
    assert not any(i.value.startswith("The database is empty") for i in entry.info)


def test_a_filter_that_matches_nothing_says_so_instead_of_empty_charts(demo_dbs):
    # Issue 10 item 3: axes from -1 to 1 and "0 pending at 0.0 batches/day, projected finish
    # today" for a filter that matches no batch.
    demo_dbs.work.batches.insert_one({"id": "batch_999", "number": 999, "status": "S"})
    at = page("dashboard").run()
    at.selectbox(key="dash_who").select("(unassigned)").run()
    at.selectbox(key="dash_status").select("done").run()
    assert not at.exception
    assert any("No batches match these filters" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 0
    assert not any("projected finish" in c.value for c in at.caption)


def test_the_attention_panel_links_to_the_suggestions_from_the_app(app_env):
    seed_pace(app_env.work)
    at = page("streamlit_app").run()
    assert not at.exception, at.exception
    [link] = [e for e in at.get("page_link") if e.proto.page.endswith("moves")]
    assert link.proto.label == "3 suggested moves: review and apply them"
    assert link.proto.page.endswith("moves")


def test_upload_figures_older_than_the_last_sync_are_flagged(demo_dbs):
    at = page("dashboard").run()
    assert not any("older than the last sync" in i.value for i in at.info)
    # As after a sync run by an earlier version of the app, which kept no read models.
    demo_dbs.work.app_meta.update_one(
        {"_id": "upload_stats"}, {"$set": {"synced_at": datetime(2000, 1, 1)}}
    )
    st.cache_data.clear()
    at = page("dashboard").run()
    assert not at.exception
    assert any("older than the last sync" in i.value for i in at.info)


def test_a_hundred_people_chart_shows_the_top_twenty_and_a_search(app_env):
    work = app_env.work
    work.segmentadores.insert_many(
        [{"name": f"Person {n}", "name_key": f"person {n}"} for n in range(100)]
    )
    work.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "status": "pending", "assignee": f"Person {n % 100}"}
            for n in range(1, 351)
        ]
    )
    at = page("dashboard").run()
    people = charts(at)["chart_people"]
    names = people["data"][0]["y"]
    assert len(names) == 21 and names[-1] == "80 others"
    assert names[0] == "Person 1"  # the most open work (4 batches) first, ties by name
    at.text_input(key="dash_people_search").input("person 42").run()
    people = charts(at)["chart_people"]
    assert people["data"][0]["y"] == ["Person 42"]


def test_one_persons_projected_finish_is_the_team_pages(app_env):
    # Issue 24 item 3: the Dashboard filtered to one person said 26 Dec, the Team page 15 Jan.
    seed_pace(app_env.work)
    team_table = page("team").run().dataframe[0].value.set_index("Name")
    listed = team_table.loc["Ana", "Projected finish"]
    assert listed
    at = page("dashboard").run()
    at.selectbox(key="dash_who").set_value("Ana").run()
    assert not at.exception, at.exception
    said = [c.value for c in at.caption if "projected finish" in c.value]
    assert len(said) == 1 and f"**{listed}**" in said[0] and said[0].startswith("Ana:")
    burndown = charts(at)["chart_burndown"]
    projection = burndown["data"][1]  # the dashed line ends on the same day
    end = datetime.fromisoformat(projection["x"][-1]).date()
    assert format_date(end, "medium", locale="en") == listed


def test_the_people_search_promises_a_top_twenty_only_when_there_are_more(demo_dbs, app_env):
    """Six people are all shown: "6 people; the 20 with the most open work" contradicted itself."""
    at = page("dashboard").run()
    few = at.text_input(key="dash_people_search").placeholder
    assert few.endswith("people") and "20" not in few
    app_env.work.segmentadores.insert_many(
        [{"name": f"Person {n}", "name_key": f"person {n}"} for n in range(30)]
    )
    st.cache_data.clear()
    at = page("dashboard").run()
    assert (
        "the 20 with the most open work are shown"
        in at.text_input(key="dash_people_search").placeholder
    )


def test_the_donuts_legend_sits_under_it(demo_dbs):
    """At 1280 px the donut has half the page: its legend has the width under the plot."""
    at = page("dashboard").run()
    legend = charts(at)["chart_done"]["layout"]["legend"]
    assert legend["y"] < 0 and legend["yanchor"] == "top"


def test_chart_titles_are_headings_the_browser_wraps_not_plotly_titles(demo_dbs):
    """Plotly draws a title on one line: at 800 px "Avance de lotes sin entregar (másca" ran
    past the half-page chart's edge. Each title is a heading above its chart (the browser
    wraps it to the column), the figures have none, and a legend sits above the plot, left."""
    at = page("dashboard").run()
    assert len(chart_titles(at)) == 5
    for key, drawn in charts(at).items():
        assert not drawn["layout"].get("title", {}).get("text"), key
    legend = charts(at)["chart_people"]["layout"]["legend"]
    assert (legend["xanchor"], legend["yanchor"]) == ("left", "bottom") and legend["y"] > 1


def test_the_mask_counts_help_names_statuses_as_the_filters_do(demo_dbs, monkeypatch):
    """ "pasa los lotes pending e in_progress a review": stored codes in a Spanish sentence,
    and no word of rework, where an unusable upload sends a batch."""
    from ui.app import i18n

    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("dashboard")
    at.session_state["language"] = "es"
    at.run()
    assert not at.exception, at.exception
    [uploaded] = [m for m in at.metric if m.label == "Subidos"]
    help_text = uploaded.proto.help
    for code in ("pending", "in_progress", " review", "rework"):
        assert code not in help_text, help_text
    assert "Pendiente" in help_text and "Por corregir" in help_text


def test_the_segmentador_filter_names_who_left_the_team_as_the_batches_page_does(app_env):
    from segcore.team import team
    from segcore.work import handover

    for name in ("Ceci", "Flor"):
        team.add_member(app_env.work, name, author="test")
    app_env.work.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "Ceci", "status": "done"},
            {"id": "batch_2", "assignee": "Flor", "status": "pending"},
            {"id": "batch_3", "assignee": "Roberto", "status": "done"},
        ]
    )
    handover.remove_member(app_env.work, "Ceci", unassign=True, author="test")
    at = page("dashboard").run()
    options = at.selectbox(key="dash_who").options
    assert {"Ceci (left the team)", "Flor", "Roberto (not on the team)"} <= set(options)
    bars = charts(at)["chart_people"]["data"][0]["y"]  # one name for her on the screen
    assert {"Ceci (left the team)", "Flor", "Roberto (not on the team)"} <= set(bars)
    batches = page("batches").run()
    assert "Ceci (left the team)" in batches.selectbox(key="bf_who").options


def test_uploads_per_day_filtered_to_a_person_counts_every_spelling_of_their_batches(app_env):
    """The chart filtered to José showed the uploads on batches stored exactly as "José" only,
    while the KPIs count "jose", "Jose" and "José " as his too (`holders`)."""
    from gridfs import GridFS

    from segcore.sync.sync import run_sync

    work = app_env.work
    work.segmentadores.insert_many([{"name": "José"}, {"name": "Jose"}, {"name": "Flor"}])
    spellings = {1: "José", 2: "jose", 3: "Jose", 4: "José ", 5: "Flor", 6: 42}
    work.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "assignee": who, "status": "pending"}
            for n, who in spellings.items()
        ]
    )
    files = GridFS(app_env.training, collection="masks")
    for n in spellings:
        files.put(b"m", filename=f"batch_{n}.zip", metadata={"uploaded_by": "someone"})
    run_sync(app_env)

    def charted(at) -> int:
        return sum(charts(at)["chart_uploads"]["data"][0]["y"])

    at = page("dashboard").run()
    assert charted(at) == 6
    at.selectbox(key="dash_who").select("José").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Batches"] == "4"
    assert charted(at) == 4
    at.selectbox(key="dash_who").select("42").run()
    assert charted(at) == 1


def test_uploads_per_day_follow_a_new_timezone_before_the_next_sync(app_env, monkeypatch):
    """The last sync counted the days in Mexico City; the office is now in Tokyo (TIMEZONE
    changed, app restarted, no sync yet). An upload at 15:26 in Mexico City is 06:26 the next
    day in Tokyo, as the Receipts page dates it: the chart put it on the Mexico City day."""
    import dataclasses
    from datetime import time, timedelta, timezone

    from gridfs import GridFS

    from segcore.store.connection import open_databases
    from segcore.sync.sync import run_sync

    app_env.work.batches.insert_one(
        {"id": "batch_1", "number": 1, "assignee": "Flor", "status": "pending"}
    )
    day = datetime.now(timezone.utc).date() - timedelta(days=3)
    upload = GridFS(app_env.training, collection="masks").put(b"m", filename="batch_1.zip")
    app_env.training["masks.files"].update_one(
        {"_id": upload}, {"$set": {"uploadDate": datetime.combine(day, time(21, 26))}}
    )
    mexico = dataclasses.replace(app_env.settings, timezone="America/Mexico_City")
    run_sync(open_databases(mexico, client=app_env.client))
    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    at = page("dashboard").run()
    assert not at.exception, at.exception
    bars = charts(at)["chart_uploads"]["data"][0]
    charted = {x: y for x, y in zip(bars["x"], bars["y"]) if y}
    assert charted == {(day + timedelta(days=1)).isoformat(): 1}
    assert not at.info  # right, so nothing to excuse


def test_dates_after_today_are_said_in_the_pages_language_and_cut_at_today(demo_dbs, monkeypatch):
    """Streamlit's own "Date set outside allowed range" is English only: the page says it."""
    from datetime import timedelta

    monkeypatch.setenv("LANGUAGE", "es")
    first = page("dashboard").run()
    today = max(first.date_input(key="dash_dates").value)
    assert not first.warning

    def chosen(start, end):  # as typed in the field (AppTest cannot type in Spanish boxes)
        at = page("dashboard")
        at.session_state["dash_dates"] = (start, end)
        return at.run()

    at = chosen(today - timedelta(days=3), today + timedelta(days=13))
    assert not at.exception
    day = format_date(today, format="medium", locale="es_MX")
    assert [w.value for w in at.warning] == [
        f"Después de hoy ({day}) todavía no ha pasado nada: se muestra hasta hoy."
    ]
    at = chosen(today, today - timedelta(days=3))
    earlier = format_date(today - timedelta(days=3), format="medium", locale="es_MX")
    assert [w.value for w in at.warning] == [
        f"La fecha de inicio era posterior a la final: se muestra del {earlier} al {day}."
    ]


def test_a_delivery_handed_over_for_review_stays_its_deliverers_on_every_chart(app_env):
    """Flor delivered batch_1, then it went to Ceci for review: the Per segmentador bars, the
    Team page's Review table and the deliveries per week (filtered to Ceci too) say Flor."""
    from datetime import timedelta, timezone

    from segcore.team import team
    from segcore.work import assignments
    from tests.pace_seed import LONG_AGO, _delivered, _open, record_sync

    db = app_env.work
    for name in ("Flor", "Ceci"):
        team.add_member(db, name, author="test")
    db.segmentadores.update_many({}, {"$set": {"created_at": LONG_AGO}})
    yesterday = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)
    db.batches.insert_many(
        [_delivered("batch_1", "Flor", yesterday), _open("batch_2", "Flor", None)]
    )
    record_sync(db, timedelta(minutes=5))
    assignments.assign(db, ["batch_1"], "Ceci", "coord")

    at = page("dashboard").run()
    assert not at.exception, at.exception
    bars = {b["name"]: dict(zip(b["y"], b["x"])) for b in charts(at)["chart_people"]["data"]}
    assert bars["Delivered, usable"] == {"Flor": 1, "Ceci": 0}
    heat = charts(at)["chart_pace"]["data"][0]
    assert {n: sum(z) for n, z in zip(heat["y"], heat["z"])} == {"Flor": 1, "Ceci": 0}
    at.selectbox(key="dash_who").select("Ceci").run()
    assert not at.exception, at.exception
    heat = charts(at)["chart_pace"]["data"][0]
    assert heat["y"] == ["Ceci"] and sum(heat["z"][0]) == 0
    assert any("delivered by someone else" in c.value for c in at.caption)

    review = page("team").run().dataframe[1].value
    delivered = dict(zip(review["Segmentador"], review["Delivered, usable"]))
    assert (delivered["Flor"], delivered.get("Ceci", 0)) == (1, 0)


def test_another_tools_edits_show_on_the_next_page_load(app_env, monkeypatch):
    """mongosh or the old Flask dashboard removes a batch and unassigns another while the app
    runs: the next rerun counts what `segcore status` counts, without a restart."""
    from segcore.report import stats
    from segcore.team import team
    from segcore.views import batch_rows

    monkeypatch.setattr(batch_rows, "OTHERS_EVERY_S", 0.0)  # not a second after the last look
    team.add_member(app_env.work, "Flor")
    app_env.work.batches.insert_many(
        [{"id": f"batch_{n}", "status": "pending", "assignee": "Flor"} for n in (1, 2)]
        + [{"id": "batch_3", "status": "pending"}]
    )
    at = page("dashboard").run()
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Batches"], metrics["Assigned"]) == ("3", "2")
    app_env.work.batches.delete_one({"id": "batch_3"})
    app_env.work.batches.update_one({"id": "batch_2"}, {"$unset": {"assignee": 1}})
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    stored = stats.summary(app_env.work)
    assert (metrics["Batches"], metrics["Assigned"]) == (str(stored.total), str(stored.assigned))
    assert (metrics["Batches"], metrics["Assigned"]) == ("2", "1")


def test_a_person_and_a_status_the_burn_down_caption_describes_the_batches_drawn(app_env):
    """Flor holds 4 batches, 2 in review: filtered to Flor and review the caption spoke of all
    4 of her open batches ("Flor: 4 open …") under a line of 2."""
    from segcore.sync import sync
    from segcore.team import team

    team.add_member(app_env.work, "Flor")
    app_env.work.batches.insert_many(
        [
            {"id": f"batch_{n}", "status": ("review", "pending")[n > 2], "assignee": "Flor"}
            for n in (1, 2, 3, 4)
        ]
    )
    sync.run_sync(app_env, author="test")
    at = page("dashboard").run()
    at.selectbox(key="dash_who").select("Flor").run()
    at.selectbox(key="dash_status").select("review").run()
    assert not at.exception, at.exception
    assert charts(at)["chart_burndown"]["data"][0]["y"][-1] == 2
    said = [c.value for c in at.caption]
    assert not any(c.startswith("Flor:") for c in said), said
    assert any(c.startswith("2 not delivered") for c in said), said
    assert any("counts all of this person's open batches" in c for c in said), said


def test_a_batch_closed_without_usable_masks_is_no_work_left_on_the_burn_down(app_env):
    """Set to done though its masks cannot be used: nobody's open work, so no line above 0
    and no finish projected for it."""
    from segcore.sync import sync
    from segcore.team import team

    team.add_member(app_env.work, "Flor")
    app_env.work.batches.insert_many(
        [
            {"id": "batch_1", "status": "done", "assignee": "Flor"},
            {"id": "batch_2", "status": "pending", "assignee": "Flor"},
        ]
    )
    sync.run_sync(app_env, author="test")
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert charts(at)["chart_burndown"]["data"][0]["y"][-1] == 1
    said = [c.value for c in at.caption]
    assert any(c.startswith("1 not delivered") for c in said), said
    assert any(c.startswith("1 batch set to done without usable masks is closed") for c in said)


def test_an_interrupted_demo_is_told_on_every_page_and_finished_from_the_dashboard(
    app_env, dbs, cli_env, tmp_path
):
    """`segcore demo` killed once a few of its uploads are stored: every page says the load was
    interrupted and how to finish it; "Finish loading the demo" loads the rest."""
    process = subprocess.Popen(
        [sys.executable, "-m", "segcore", "demo", "--batches", "60", "--dir", str(tmp_path / "d")],
        env=cli_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while dbs.masks_files.count_documents({}) < 5:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.kill()
    process.wait(30)
    entry = page("streamlit_app").run()
    assert not entry.exception
    assert any("Loading the demo" in w.value and "interrupted" in w.value for w in entry.warning)
    at = page("dashboard").run()
    at.button(key="demo_finish").click().run()
    assert not at.exception
    assert any("Demo loaded: 60 batches" in s.value for s in at.success)
    assert dbs.work.batches.count_documents({}) == 60
    entry = page("streamlit_app").run()
    assert not any("interrupted" in w.value for w in entry.warning)
    assert any("Demo data" in w.value for w in entry.warning)
