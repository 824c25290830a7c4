"""Backups of the app's database that restore: writing one (`backup`), the value codec that
round-trips every stored type (`backup_codec`), the all-or-nothing restore (`backup_restore`)
and the rotation that deletes only what it wrote (`backup_rotation`) for this very database
(its own id, `database_id`); a file packed again, zipped or recompressed, is named as such
(`backup_wrappers`). Imports the packages below it, never the user interface.
"""
