"""Whether a process still runs on this machine: how a lease or a restore's mark held by a
killed process is told from one held by a live one."""

from __future__ import annotations

import os


def process_alive(pid: object) -> bool:
    """Whether a process with this id runs on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
