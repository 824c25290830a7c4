"""The pace analysis behind the Dashboard, Team and Suggested moves pages (about 0.4 s at
50,000 batches) is kept per data version and office day: the clock moving within a day reuses
it, a new day or a write makes it again, so overdue counts move at midnight and after edits."""

from datetime import datetime, timezone

import pytest

from segcore.report import pace


@pytest.fixture
def clock(monkeypatch):
    """The moment `ui.reads` takes as now; set `clock.now`."""
    from ui import reads

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


def _reasons(alerts) -> list[str]:
    return [str(b.reason) for b in alerts.at_risk]


def test_alerts_are_made_once_a_day_and_again_after_a_write(app_env, clock, analyses):
    from segcore.sync import sync
    from segcore.team import team
    from segcore.work import assignments
    from ui import reads
    from ui.connection import forget_data_versions

    team.add_member(app_env.work, "Ana", author="test")
    app_env.work.batches.insert_one(
        {
            "id": "batch_1",
            "status": "pending",
            "assignee": "Ana",
            "metadata": {"due_date": "2027-03-02"},
        }
    )
    sync.run_sync(app_env, author="test")  # before any sync nothing is called late
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
