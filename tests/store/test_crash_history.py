"""Every change is recorded, even when the command is killed: after a SIGKILL at several points
of `assign`, `team remove --reassign-to` and `import`, replaying each batch's history gives
its current value, and a re-run completes and records the rest."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime

import pytest
import secantus
from pymongo import MongoClient

from segcore.store import atomic, history
from segcore.team import team
from segcore.work import assignments
from tests.conftest import ROOT
from tests.helpers import kill_segcore_after_history

COUNT = 2000
IDS = [f"batch_{n}" for n in range(1, COUNT + 1)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server that gives up a killed client's open transaction after 30 s instead of 60 s
    (the lifetime of an idle transaction on MongoDB and on the embedded server). Not shorter:
    beside a CPU load a live command's own transaction took more than 10 s and was given up
    ("transaction number ... does not match any in-progress transactions")."""
    instance = secantus.SecantusDBServer(
        host="127.0.0.1",
        port=0,
        storage_path=str(tmp_path_factory.mktemp("crash")),
        transaction_lifetime_seconds=30,
    )
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def work(server):
    client = MongoClient(server.uri)
    name = f"seg_{uuid.uuid4().hex[:10]}"
    db = client[name]
    yield db
    client.drop_database(name)
    client.close()


def environment(server, db) -> dict:
    """The command line's environment for `db` on `server`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_", "BATCHES"))}
    env.update(
        MONGO_URI=server.uri, MONGO_DB=db.name, TRAINING_DB=f"{db.name}_tm", PYTHONPATH=str(ROOT)
    )
    return env


def start(server, db, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "segcore", *args],
        env=environment(server, db),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process, reached, timeout=600):
    """SIGKILL `process` as soon as `reached()` is true (it must not have finished first)."""
    deadline = time.monotonic() + timeout
    while not reached():
        assert process.poll() is None, f"finished before the kill point: {process.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def assert_history_explains_every_batch(db):
    """Replaying each batch's assignee history from "unassigned" ends at its current value."""
    chains = defaultdict(list)
    for entry in db.history.find({"kind": "batch", "field": "assignee"}).sort([("at", 1)]):
        chains[entry["key"]].append(entry)
    for doc in db.batches.find({}, {"id": 1, "assignee": 1}):
        value = None
        for entry in chains.get(doc["id"], []):
            assert entry["old"] == value, (doc["id"], chains[doc["id"]])
            value = entry["new"]
        assert value == doc.get("assignee"), (doc["id"], chains.get(doc["id"]))


def finish(process):
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_the_server_offers_transactions(work):
    assert atomic.supports_transactions(work.client)


@pytest.mark.parametrize("kill_after", [1, COUNT // 2])
def test_assign_killed_midway_leaves_every_change_recorded(server, work, kill_after):
    work.batches.insert_many([{"id": i, "assignee": None} for i in IDS])
    team.add_member(work, "Flor")
    process = start(server, work, "assign", *IDS, "--to", "Flor")
    kill_when(process, lambda: work.batches.count_documents({"assignee": "Flor"}) >= kill_after)
    assert 0 < work.batches.count_documents({"assignee": "Flor"}) < COUNT
    assert_history_explains_every_batch(work)
    before = work.batches.count_documents({"assignee": "Flor"})
    out = finish(start(server, work, "assign", *IDS, "--to", "Flor"))
    assert out.startswith(f"{COUNT - before} batches updated")
    assert work.batches.count_documents({"assignee": "Flor"}) == COUNT
    assert_history_explains_every_batch(work)
    assert work.history.count_documents({"field": "assignee"}) == COUNT


def test_team_remove_reassigning_killed_midway_leaves_every_change_recorded(server, work):
    for name in ("Ana", "Flor"):
        team.add_member(work, name)
    work.batches.insert_many([{"id": i, "assignee": "Ana"} for i in IDS])
    history.record(
        work,
        [
            history.Change("batch", i, "assignee", None, "Ana", "test", datetime(2025, 1, 1))
            for i in IDS
        ],
    )
    process = start(server, work, "team", "remove", "Ana", "--reassign-to", "Flor")
    kill_when(process, lambda: work.batches.count_documents({"assignee": "Flor"}) >= 1)
    assert work.batches.count_documents({"assignee": "Ana"}) > 0
    assert_history_explains_every_batch(work)
    finish(start(server, work, "team", "remove", "Ana", "--reassign-to", "Flor"))
    assert work.batches.count_documents({"assignee": "Flor"}) == COUNT
    assert [m.name for m in team.list_members(work)] == ["Flor"]
    assert_history_explains_every_batch(work)


def test_import_killed_midway_is_accounted_for_then_completed(server, work, tmp_path):
    total = 5000
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps([f"batch_{n}" for n in range(1, total + 1)]))

    def recorded_added():
        return sum(e["new"]["added"] for e in work.history.find({"kind": "import"}))

    process = start(server, work, "import", "--file", str(listing))
    kill_when(process, lambda: work.batches.estimated_document_count() >= 1)
    time.sleep(11)  # what the server still had in hand is finished or given up by now
    assert 0 < work.batches.count_documents({}) < total
    assert work.batches.count_documents({}) == recorded_added()
    before = work.batches.count_documents({})
    out = finish(start(server, work, "import", "--file", str(listing)))
    assert f"Imported: {total - before} added" in out
    assert work.batches.count_documents({}) == total == recorded_added()


REVIEWED = 1200  # more than two of a review's steps (review.REVIEW_STEP)


def status_entries(db, session=None) -> dict[str, list[tuple]]:
    """Each batch's recorded status moves, (old, new) in order."""
    chains = defaultdict(list)
    entries = db.history.find({"kind": "batch", "field": "status"}, session=session)
    for entry in entries.sort([("at", 1)]):
        chains[entry["key"]].append((entry["old"], entry["new"]))
    return chains


def statuses(db, session=None) -> dict[str, str]:
    return {
        d["id"]: d["status"] for d in db.batches.find({}, {"id": 1, "status": 1}, session=session)
    }


def test_review_killed_midway_records_exactly_the_moves_it_made(server, work):
    """`segcore review ... --accept` killed once its first batches are accepted: each accepted
    batch has its one entry, each batch still in review none (no entry for a move that did not
    happen); running the same command again accepts the rest, each with one entry."""
    ids = IDS[:REVIEWED]
    work.batches.insert_many([{"id": i, "status": "review", "mongo_uploaded": True} for i in ids])
    process = start(server, work, "review", *ids, "--accept")
    kill_when(process, lambda: work.history.count_documents({"field": "status"}) >= 1)
    # Both collections read at one point in time (a transaction's snapshot).
    with work.client.start_session() as session, session.start_transaction():
        now, chains = statuses(work, session), status_entries(work, session)
    accepted = [i for i in ids if now[i] == "done"]
    assert 0 < len(accepted) < REVIEWED
    assert {i: chains[i] for i in ids if now[i] == "review" and chains[i]} == {}
    assert all(chains[i] == [("review", "done")] for i in accepted)
    before = work.batches.count_documents({"status": "done"})
    rerun = start(server, work, "review", *ids, "--accept")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 1  # the batches already accepted are named as refused
    assert out.count("accepted: ") == REVIEWED - before
    assert err.count("already done") == before
    assert set(statuses(work).values()) == {"done"}
    assert all(c == [("review", "done")] for c in status_entries(work).values())
    assert len(status_entries(work)) == REVIEWED


def test_review_killed_between_an_entry_and_its_move_leaves_no_entry_alone(server, work):
    """Killed right after it wrote the history of its second step (in the old way: of its
    second batch), a review leaves no entry telling of a move that did not happen."""
    ids = IDS[:REVIEWED]
    work.batches.insert_many([{"id": i, "status": "review", "mongo_uploaded": True} for i in ids])
    kill_segcore_after_history(environment(server, work), "review", *ids, "--accept", step=2)
    now, chains = statuses(work), status_entries(work)
    assert {i: chains[i] for i in ids if now[i] == "review" and chains[i]} == {}
    assert all(chains[i] == [("review", "done")] for i in ids if now[i] == "done")
    # The re-run finishes (and, a transactional command, lets the server give up the killed
    # one's transaction, which a database drop would otherwise wait on for good).
    finish_or_refused = start(server, work, "review", *ids, "--accept")
    finish_or_refused.communicate(timeout=300)
    assert set(statuses(work).values()) == {"done"}
    assert all(c == [("review", "done")] for c in status_entries(work).values())


def test_without_transactions_changes_are_still_recorded(tmp_path):
    """A standalone server has no transactions: the same writes run one after the other."""
    instance = secantus.SecantusDBServer(
        host="127.0.0.1", port=0, storage_path=str(tmp_path), replica_set_name=None
    )
    instance.start()
    try:
        client = MongoClient(instance.uri)
        db = client.seg
        assert not atomic.supports_transactions(client)
        team.add_member(db, "Flor")
        db.batches.insert_many([{"id": i} for i in IDS[:700]])
        result = assignments.assign(db, IDS[:700], "Flor", "test")
        assert len(result.updated) == 700
        assert_history_explains_every_batch(db)
        client.close()
    finally:
        instance.stop()


def test_a_new_client_is_asked_afresh_even_where_an_old_one_stood(server, tmp_path):
    """A closed client's id() is reused by the next client, possibly to another server: the
    cached answer of the old one (a replica set, with transactions) must not be the new one's."""
    replica = MongoClient(server.uri)
    assert atomic.supports_transactions(replica)
    instance = secantus.SecantusDBServer(
        host="127.0.0.1", port=0, storage_path=str(tmp_path), replica_set_name=None
    )
    instance.start()
    try:
        standalone = MongoClient(instance.uri)
        # What id() reuse leaves behind: the old client's answer under the new client's id.
        atomic._SUPPORT[id(standalone)] = atomic._SUPPORT[id(replica)]
        assert not atomic.supports_transactions(standalone)
        assert atomic.supports_transactions(replica)
        standalone.close()
    finally:
        replica.close()
        instance.stop()


def test_a_team_change_is_written_with_its_history_or_not_at_all(work, monkeypatch):
    """A crash between a member's write and its history entry (the history write failing
    stands in for the kill: the two writes are too quick to kill between) leaves neither."""
    team.add_member(work, "Ana", email="ana@example.org")

    def killed(*_args, **_kwargs):
        raise RuntimeError("killed between the two writes")

    monkeypatch.setattr(history, "record", killed)
    for change in (
        lambda: team.add_member(work, "Flor"),
        lambda: team.edit_member(work, "Ana", role="Revisora"),
        lambda: team.delete_member(work, "Ana"),
    ):
        with pytest.raises(RuntimeError):
            change()
    assert [(m.name, m.role) for m in team.list_members(work)] == [("Ana", "Segmentador")]
    assert [e["new"] for e in work.history.find({"kind": "team"})] == ["added"]
