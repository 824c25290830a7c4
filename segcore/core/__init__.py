"""The foundation every other package stands on: settings, the connection to both databases,
the embedded server, collection names, named errors, names and dates, and the change history.

Modules: config, config_urls, connection, embedded, schema, atomic, data_version, redact, errors,
timefmt, naming, history, actors, regular_files, json_input, phrases, translations. Imports
nothing else of segcore.
"""
