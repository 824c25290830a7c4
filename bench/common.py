"""Helpers shared by the benchmarks: a throw-away embedded server and a timer."""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient  # noqa: E402

from segcore.store import embedded


@contextmanager
def throwaway_server():
    """A fresh embedded server in a temporary directory, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="segbench-") as tmp:
        path = Path(tmp) / "db"
        uri = embedded.ensure_server(path)
        client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
        try:
            yield uri, client
        finally:
            client.close()
            embedded.stop_server(path)


def best_of(function, repeat: int = 3) -> float:
    """The best wall time of `repeat` runs: the least disturbed by other load on the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
