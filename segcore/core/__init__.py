"""The foundation every other package stands on, with no database and no settings: named
errors, names and escaping them, dates, phrases and their catalogs, masked URIs, who is acting,
regular files only, replacing a named file whole, strict JSON input and whether a process runs.

Modules: errors, naming, timefmt, phrases, translations, redact, actors, regular_files,
replace_file, json_input, processes. Imports nothing else of segcore.
"""
