"""The Sync page's parts: "Sync now" and the schedule (`sync_actions`), the mask check
(`mask_actions`) and the mask content check (`content_actions`), also shown per batch."""
