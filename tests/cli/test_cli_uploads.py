"""`segcore uploads`: the recent uploads and the last sync's problem lists, told apart when
several are asked for at once."""

import json

import pytest

from segcore import demo
from segcore.cli.sync import labelled_uploads


def test_uploads_of_several_lists_are_listed_once_each_with_the_lists_they_are_in():
    recent = [{"filename": "a.zip", "upload_date": 2}, {"filename": "b.zip", "upload_date": 1}]
    unmatched = [{"filename": "b.zip", "upload_date": 1}, {"filename": "old.zip", "upload_date": 0}]
    assert labelled_uploads([("recent", recent), ("unmatched", unmatched)]) == [
        {"filename": "a.zip", "upload_date": 2, "lists": ["recent"]},
        {"filename": "b.zip", "upload_date": 1, "lists": ["recent", "unmatched"]},
        {"filename": "old.zip", "upload_date": 0, "lists": ["unmatched"]},
    ]


@pytest.fixture
def demo_loaded(dbs, tmp_path):
    demo.load_demo(dbs, tmp_path / "demo", count=60)


@pytest.mark.parametrize("problem", ["--unmatched", "--orphans"])
def test_recent_and_a_problem_list_are_told_apart(demo_loaded, run_cli, problem):
    """`--recent 5 --unmatched --json` gave the five recent uploads then the unmatched ones in
    one flat array, an upload twice: `jq length` counted 6 "unmatched"."""

    def names(*args):
        return [u["filename"] for u in json.loads(run_cli("uploads", *args, "--json").stdout)]

    recent, problems = names("--recent", "5"), names(problem)
    assert recent and problems
    both = json.loads(run_cli("uploads", "--recent", "5", problem, "--json").stdout)
    filenames = [u["filename"] for u in both]
    assert len(filenames) == len(set(filenames))
    label = problem.removeprefix("--")
    assert [u["filename"] for u in both if "recent" in u["lists"]] == recent
    assert [u["filename"] for u in both if label in u["lists"]] == problems

    text = run_cli("uploads", "--recent", "5", problem).stdout.splitlines()
    headings = [line for line in text if not line.startswith("  ")]
    assert headings == [
        "Most recent uploads (5):",
        {
            "--unmatched": f"Unmatched at the last sync, naming no batch ({len(problems)}):",
            "--orphans": f"Orphans at the last sync, naming a batch not in the list ({len(problems)}):",
        }[problem],
    ]
    assert len(text) == 2 + 5 + len(problems)


def test_one_list_alone_is_the_plain_list_it_was(demo_loaded, run_cli):
    """Scripts reading `uploads --unmatched --json` get the same array as before."""
    alone = json.loads(run_cli("uploads", "--unmatched", "--json").stdout)
    assert alone and all("lists" not in u for u in alone)
    assert not run_cli("uploads", "--unmatched").stdout.startswith("Unmatched")
