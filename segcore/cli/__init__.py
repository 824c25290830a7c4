"""The command line, `segcore` (or `python -m segcore`): the same configuration and server as the app.

Each command opens the databases, calls one segcore function and prints the result; named
segcore errors become a one-line message and a non-zero exit code, never a traceback. The
shared group, options and error handling are in `base`; each module here adds one topic's
commands to it. A command imports only its own module (`segcore sync` from cron never loads
the backup or report code); `--help` and an unknown name load them all.
"""

from segcore.cli.base import main

# command -> the module of segcore.cli that defines it; a command missing here still works
# (every module is loaded to find it), only without the shortcut.
main.lazy = {
    "alerts": "alerts",
    "report": "alerts",
    "backup": "backup",
    "restore": "backup",
    "import": "batches",
    "assign": "batches",
    "status": "batches",
    "history": "batches",
    "batches": "batches",
    "notify": "notify",
    "receipts": "receipts",
    "review": "receipts",
    "stop-server": "server",
    "demo": "server",
    "sync": "sync",
    "uploads": "sync",
    "team": "team",
    "health": "team",
    "user": "users",
    "verify": "verify",
}
main.modules = (
    "alerts",
    "backup",
    "batches",
    "notify",
    "receipts",
    "server",
    "sync",
    "team",
    "users",
    "verify",
)

__all__ = ["main"]
