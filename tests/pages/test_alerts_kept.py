"""The pace analysis behind the Dashboard, Team and Suggested moves pages (about 0.4 s at
50,000 batches) is kept per data version and office day: the clock moving within a day reuses
it, a new day or a write makes it again, so overdue counts move at midnight and after edits.
A warm start (`streamlit run serve.py`) makes it before the first visitor."""

import threading
from datetime import datetime, timezone

import pytest

from segcore.report import pace
from tests.helpers import page


@pytest.fixture
def clock(monkeypatch):
    """The moment `ui.app.reads` takes as now; set `clock.now`."""
    from ui.app import reads

    class Clock(datetime):
        now_value = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)  # a Monday, after Ana joined

        @classmethod
        def now(cls, tz=None):
            return cls.now_value

    monkeypatch.setattr(reads, "datetime", Clock)
    return Clock


@pytest.fixture
def analyses(monkeypatch):
    made = []
    real = pace.analyse
    monkeypatch.setattr(pace, "analyse", lambda *a, **k: made.append(a[2]) or real(*a, **k))
    return made


def _ana_with_one_batch(databases, due: str) -> None:
    """Ana on the team, with one pending batch due on `due`, after a sync (before any sync
    nothing is called late)."""
    from segcore.sync import sync
    from segcore.team import team

    team.add_member(databases.work, "Ana", author="test")
    databases.work.batches.insert_one(
        {"id": "batch_1", "status": "pending", "assignee": "Ana", "metadata": {"due_date": due}}
    )
    sync.run_sync(databases, author="test")


def _reasons(alerts) -> list[str]:
    return [str(b.reason) for b in alerts.at_risk]


def test_alerts_are_made_once_a_day_and_again_after_a_write(app_env, clock, analyses):
    from segcore.work import assignments
    from ui.app import reads
    from ui.app.connection import forget_data_versions

    _ana_with_one_batch(app_env, "2027-03-02")
    stalled = ["stalled: Ana has not delivered anything yet"]
    assert _reasons(reads.current_alerts()) == stalled  # due tomorrow
    clock.now_value = datetime(2027, 3, 1, 17, 59, tzinfo=timezone.utc)  # later that day
    assert _reasons(reads.current_alerts()) == stalled
    assert len(analyses) == 1

    clock.now_value = datetime(2027, 3, 3, 8, 0, tzinfo=timezone.utc)  # two days on
    assert _reasons(reads.current_alerts()) == ["overdue by 1 day"]
    assert len(analyses) == 2

    assignments.set_fields(app_env.work, ["batch_1"], {"due_date": "2027-03-20"}, author="test")
    forget_data_versions()  # as a page does after its own save
    assert _reasons(reads.current_alerts()) == stalled  # the new due date counts at once
    assert len(analyses) == 3


def test_the_warm_start_makes_the_alerts_the_team_page_shows(app_env, analyses):
    from ui.app import reads
    from ui.app.warm_start import warm_up

    _ana_with_one_batch(app_env, "2020-01-06")
    starter = threading.Thread(target=warm_up)  # as serve.py's lifespan runs it: no session
    starter.start()
    starter.join(120)
    assert len(analyses) == 1
    (late,) = reads.current_alerts().at_risk
    assert late.id == "batch_1" and str(late.reason).startswith("overdue by")

    at = page("team").run()
    assert not at.exception
    assert len(analyses) == 1  # the page showed the alerts made at start
    assert list(at.dataframe[0].value["Name"]) == ["Ana"]


def test_a_removal_makes_the_analysis_again_with_the_joining_kept(app_env):
    """José joined today and delivered 3 batches: the weekly report page paces him since then
    (3 a day), and after his removal (a write) still does, not over the whole window (0.15)."""
    from datetime import timedelta

    from segcore.team import team
    from segcore.work import handover
    from tests.pace_seed import _delivered, record_sync
    from ui.app.connection import forget_data_versions

    db = app_env.work
    for name in ("José", "Eva"):
        team.add_member(db, name, author="test")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    db.batches.insert_many([_delivered(f"batch_{n}", "José", now) for n in (1, 2, 3)])
    db.batches.insert_one({"id": "batch_4", "assignee": "José", "status": "pending"})
    record_sync(db, timedelta(minutes=1))

    def jose():
        at = page("weekly_report").run()
        assert not at.exception, at.exception
        table = at.dataframe[0].value.set_index("Person")
        return table.loc["José"].to_dict()

    assert jose()["Pace / working day"] == "3.00"
    handover.remove_member(db, "José", reassign_to="Eva", author="test")
    forget_data_versions()  # as the Team page does after its own removal
    after = jose()
    assert (after["Pace / working day"], after["Open"]) == ("3.00", "0"), after
