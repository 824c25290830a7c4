"""What an upload holds: archives listed without extracting (`archive_listing`), a batch's
images on disk (`batch_images`), mask names matched to images (`mask_matching`) and the stored
check (`mask_check`). Imports `core` and `uploads`.
"""
