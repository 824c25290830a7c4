"""Alerts that depend on deliveries say so before any sync has read them, and name a stale
sync next to each alert: the Dashboard's Attention panel, Suggested moves, the Team page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import page
from tests.pace_seed import seed_pace

# language -> the texts a coordinator must read
WORDS = {
    "en": {
        "no_sync": "No sync has run yet: pace, stalls and batches at risk",
        "attention": "Attention",
        "stale": "(as of the last sync, 3 days ago)",
        "stalled": "Stalled",
        "unknown": "unknown until a sync",
        "name": "Name",
        "moves_stale": "These figures rest on the last sync, which is old",
        "alarm": ("stalled", "at risk", "never delivered"),
    },
    "es": {
        "no_sync": "Aún no se ha sincronizado: el ritmo, los detenidos y los lotes en riesgo",
        "attention": "Atención",
        "stale": "(según la última sincronización, hace 3 días)",
        "stalled": "Detenido",
        "unknown": "se sabrá tras una sincronización",
        "name": "Nombre",
        "moves_stale": "Estas cifras se basan en la última sincronización",
        "alarm": ("detenido", "en riesgo", "nunca ha entregado"),
    },
}


@pytest.fixture(params=["en", "es"])
def language(request, monkeypatch):
    monkeypatch.setenv("LANGUAGE", request.param)
    if request.param == "es":  # selectbox labels are formatted outside the script run too
        from ui.app import i18n

        monkeypatch.setattr(i18n, "current_language", lambda: "es")
    return WORDS[request.param]


def shown(at) -> str:
    return " ".join(
        e.value
        for kind in ("markdown", "info", "warning", "caption", "subheader")
        for e in getattr(at, kind)
    )


def test_before_any_sync_the_dashboard_says_a_sync_is_needed_instead_of_alarming(app_env, language):
    seed_pace(app_env.work, synced_ago=None)  # once synced: Cai stalled, 3 batches at risk
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert any(i.value.startswith(language["no_sync"]) for i in at.info)
    assert language["attention"] not in [h.value for h in at.subheader]
    text = " ".join(m.value for m in at.markdown)
    assert "Cai" not in text and not any(word in text for word in language["alarm"])


def test_before_any_sync_suggested_moves_and_the_team_say_so(app_env, language):
    seed_pace(app_env.work, synced_ago=None)
    moves = page("moves").run()
    assert not moves.exception, moves.exception
    assert [i.value.startswith(language["no_sync"]) for i in moves.info] == [True]
    assert len(moves.dataframe) == 0
    team = page("team").run()
    assert not team.exception, team.exception
    table = team.dataframe[0].value.set_index(language["name"])
    assert set(table[language["stalled"]]) == {language["unknown"]}


def test_a_stale_sync_is_named_next_to_every_alert(app_env, language):
    seed_pace(app_env.work, synced_ago=timedelta(days=3, minutes=1))
    at = page("dashboard").run()
    assert not at.exception, at.exception
    assert language["attention"] in [h.value for h in at.subheader]
    # The stalled line and the at-risk line (the links under them name people and batches).
    lines = [m.value for m in at.markdown if m.value.startswith((":orange[**", ":red[**"))]
    assert len(lines) == 2 and all(language["stale"] in line for line in lines)
    assert any(language["stale"].strip("()") in c.value for c in at.caption)  # by the moves
    moves = page("moves").run()
    assert not moves.exception, moves.exception
    [warning] = [w.value for w in moves.warning]
    assert warning.startswith(language["moves_stale"]) and language["stale"] in warning
    team = page("team").run()
    table = team.dataframe[0].value.set_index(language["name"])
    assert table.loc["Cai", language["stalled"]].endswith(language["stale"])
    assert table.loc["Ana", language["stalled"]] == ""


def test_a_fresh_sync_adds_no_note(app_env, language):
    seed_pace(app_env.work)
    at = page("dashboard").run()
    assert language["attention"] in [h.value for h in at.subheader]
    assert language["stale"] not in shown(at)
