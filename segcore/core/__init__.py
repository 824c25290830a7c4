"""The foundation every other package stands on: settings, the connection to both databases,
the embedded server, collection names, named errors, names and dates, and the change history.

Modules: config, connection, embedded, schema, atomic, data_version, redact, errors, timefmt,
naming, history, actors, regular_files, json_input. Imports nothing else of segcore.
"""
