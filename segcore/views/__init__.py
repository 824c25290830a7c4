"""Data shaped for the screens: labels and sizes (`labels`), the batch rows kept in memory
(`batch_rows`), the editable table and CSV export (`batch_table`) and unsaved edits
(`pending_edits`). Imports the packages below it, never the user interface.
"""
