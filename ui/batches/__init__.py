"""The batch list on screen: the Batches page's grid (`batch_grid`), its Save and bulk actions
(`batch_actions`, `bulk_edit`), the "Late" filter (`late`), one batch's details
(`batch_details`), receipts and the review form (`receipt_views`), the spreadsheet export
(`spreadsheet_export`), the Settings page's import of a batch list (`import_actions`) and the
browser's warning before a tab with unsaved table edits is closed (`leave_warning`)."""
