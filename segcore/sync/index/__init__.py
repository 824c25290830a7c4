"""The sync's index of the uploads: one upload's entry (`index_entry`), the index and its stored
form (`sync_index`), and what it means for each batch (`sync_plan`: the fields a sync writes,
the problems it points out). Imports nothing of the sync above it."""
