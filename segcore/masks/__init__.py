"""The verdict on an upload: the stored mask check of each batch (`mask_check`, of the
batches in its scope: `check_scope`), one receipt per upload (`receipts`), the receipts a
check owes and the status moves they make (`owed_receipts`), what content checks still owe
them (`content_due`) and the copies they found by their pixels (`resaved_images`,
`found_copies`), built on `images`, `archives` and `content`.
"""
