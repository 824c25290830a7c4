"""Settings: the environment read once and checked (`config`, `config_urls`), and described for
the Settings page and `segcore config` (`config_table`). Imports only `core`.
"""
