"""The command line, `segcore` (or `python -m segcore`): the same configuration and server as the app.

Each command opens the databases, calls one segcore function and prints the result; named
segcore errors become a one-line message and a non-zero exit code, never a traceback. The
shared group, options and error handling are in `base`; each module here adds one topic's
commands to it.
"""

from segcore.cli import (
    alerts,
    backup,
    batches,
    notify,
    receipts,
    server,
    sync,  # noqa: F401
    team,
    users,
    verify,
)  # (they register commands)
from segcore.cli.base import main

__all__ = ["main"]
