"""Keeping the batch list in line with the uploads: the routine sync (`sync`) and its plan,
index, writes, lease and run records (`sync_plan`, `sync_index`, `sync_apply`, `sync_lease`,
`sync_runs`), the routine run that finds nothing new at the cost of a few round trips
(`routine`), the new uploads' receipts (`intake`), the uploads' read models (`upload_stats`),
the live sync (`live_sync`, `live_status`) and the in-app schedule (`schedule`). Imports
`core`, `work` and `uploads`.
"""
