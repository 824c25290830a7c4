"""The people: the team of segmentadores (`team`), other tools' edits of it followed by a
running app (`team_edits`), app logins (`auth`) and their sessions (`sessions`). Imports only
`segcore.core` and `segcore.store`.
"""
