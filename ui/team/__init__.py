"""The people: the Team page's table and removal (`team_actions`), its edit form
(`member_edit`) and logins (`member_logins`), "Write to" links (`write_to`), and a
segmentador's own "My batches" (`my_work_view`)."""
