"""The people: the team of segmentadores (`team`), app logins (`auth`) and their sessions
(`sessions`). Imports only `segcore.core`.
"""
