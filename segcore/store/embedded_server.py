"""The embedded server's own process: SecantusDB, which also gives up abandoned transactions.

A command killed mid-transaction (kill -9, a dropped SSH session) leaves its transaction open
on the server. MongoDB aborts it once it is older than transactionLifetimeLimitSeconds (60 s).
SecantusDB (0.7) checks its transactions' age only when a transactional command arrives and has
no background reaper, while a plain write that meets the transaction's documents (a sync's, a
review's) retries without end: the sync waited for good. This process runs the same server
(`secantus.SecantusDBServer`, as `python -m secantus` does) and checks every REAP_EVERY_S, so a
killed command's transaction is given up TRANSACTION_LIFETIME_S after its last statement and
the writes waiting on it go through. It imports nothing of segcore: started as
`python -m segcore.store.embedded_server` by `embedded`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

TRANSACTION_LIFETIME_S = 60.0  # as MongoDB's transactionLifetimeLimitSeconds
REAP_EVERY_S = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options `embedded` passes (spelled as `python -m secantus` spells them)."""
    parser = argparse.ArgumentParser(prog="python -m segcore.store.embedded_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--storage-path", required=True)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--oplog-retention-seconds", type=float, default=3600.0)
    parser.add_argument("--oplog-max-entries", type=int, default=100_000)
    return parser.parse_args(argv)


def reap_abandoned(server, stop: threading.Event, every: float = REAP_EVERY_S) -> None:
    """Until `stop` is set, give up every transaction idle past its lifetime (what SecantusDB
    does only when a transactional command arrives)."""
    log = logging.getLogger("segcore.embedded_server")
    while not stop.wait(every):
        try:
            given_up = server.transactions.prune_expired()
        except Exception:  # noqa: BLE001 - a failed check must not end the checks
            log.exception("checking for abandoned transactions failed")
            continue
        if given_up:
            log.warning(
                "gave up %d abandoned transaction(s), idle over %.0f s",
                given_up,
                TRANSACTION_LIFETIME_S,
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from secantus import SecantusDBServer

    server = SecantusDBServer(
        host=args.host,
        port=args.port,
        storage_path=args.storage_path,
        enable_test_commands=False,  # as `python -m secantus`: a daemon on a port
        oplog_retention_seconds=args.oplog_retention_seconds,
        oplog_max_entries=args.oplog_max_entries,
        transaction_lifetime_seconds=TRANSACTION_LIFETIME_S,
    )
    stop = threading.Event()

    def shut_down(_signum, _frame) -> None:
        stop.set()
        # Open transactions first, as mongod does at shutdown: a write still waiting on one
        # then finishes instead of holding the server's stop.
        server.transactions.abort_all()
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    server.start()
    threading.Thread(
        target=reap_abandoned, args=(server, stop), name="segcore-txn-reaper", daemon=True
    ).start()
    server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
