"""The verdict on an upload: the stored mask check of each batch (`mask_check`) and one receipt
per upload (`receipts`), built on `images`, `archives` and `content`.
"""
