"""A sync's bookkeeping: where the last run stood (`sync_state`), the lease that keeps two runs
apart (`sync_lease`), the run records (`sync_runs`) and the refusal of an app database that is
not the team's (`batch_list_guard`). Imports `sync.index` only, of the sync."""
