"""Keeping the batch list in line with the uploads: the sync (`sync`), its writes
(`sync_apply`), the new uploads' receipts (`intake`), the routine run that finds nothing new at
the cost of a few round trips (`routine`) and the uploads' read models (`upload_stats`); the
index of the uploads and its plan (`index/`), the sync's bookkeeping (`records/`) and what
starts syncs besides a command (`live/`). Imports `core`, `work` and `uploads`.
"""
