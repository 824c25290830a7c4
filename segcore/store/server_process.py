"""Which server process answers: one that restarted may have lost writes it had confirmed.

MongoDB confirms a write with the default write concern (w:1) before its journal reaches the
disk, and so does the embedded server: killed and back within a second, it has lost the last
writes it confirmed, and a client that reconnects carries on against it without noticing. A
sync that did so saved its index and resume point over batch writes that are gone, and the
next routine runs trusted them (see README, Reliability). A new primary after a failover may
likewise lack the old one's last writes.

Every server since MongoDB 4.4 (the embedded one too) names its process in its `hello` answer
(`topologyVersion.processId`, new at each start). The driver keeps the answer of its last
check: `seen` reads it without a round trip, `asked` asks the server (one round trip). None:
the server does not say (older than 4.4), and nothing can be told.
"""

from __future__ import annotations

from pymongo import MongoClient


def seen(client: MongoClient) -> str | None:
    """The writable server's process as the driver last saw it (no round trip), or None."""
    for server in client.topology_description.server_descriptions().values():
        if server.is_writable and server.topology_version:
            return _process_of(server.topology_version)
    return None


def asked(client: MongoClient) -> str | None:
    """The process of the server that answers writes now (one round trip), or None."""
    return _process_of(client.admin.command("hello").get("topologyVersion"))


def _process_of(topology_version) -> str | None:
    process = topology_version.get("processId") if isinstance(topology_version, dict) else None
    return str(process) if process is not None else None
