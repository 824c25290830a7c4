"""A pymongo listener that records a client's `find` commands: what a test asserts when a
page must read a few batches, not every one."""

from pymongo import monitoring


class Finds(monitoring.CommandListener):
    """The `find` commands a client sent, by collection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict]] = []

    def started(self, event) -> None:
        if event.command_name == "find":
            self.seen.append((event.command["find"], dict(event.command.get("filter") or {})))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def read_every_batch(self) -> bool:
        return ("batches", {}) in self.seen
