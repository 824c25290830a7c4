"""Settings: the environment read once and checked (`config`, `config_uri` for MONGO_URI,
`config_urls`, and `config_db` for which database is the app's), and described for the Settings
page and `segcore health` (`config_table`). Imports only `core`.
"""
