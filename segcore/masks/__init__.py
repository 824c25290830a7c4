"""What an upload holds: archives listed without extracting (`archive_listing`, reading zips
with `archive_zip`, tars with `archive_tar`, 7z with `archive_7z`), a batch's images on disk
(`batch_images`), mask names matched to images (`mask_matching`), what changed between two
listings (`listing_changes`), many uploads listed and stored at once (`listing_store`) and the
stored check (`mask_check`); mask contents against their
images: grids and values read by each format's library (`mask_formats`, `mask_geometry`), the
rules and their words (`mask_content`), one upload checked (`mask_content_scan`) and the results
stored (`mask_content_check`). Imports `core` and `uploads`.
"""
