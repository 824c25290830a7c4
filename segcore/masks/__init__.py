"""What an upload holds: archives listed without extracting (`archive_listing`), a batch's
images on disk (`batch_images`), mask names matched to images (`mask_matching`) and the stored
check (`mask_check`); mask contents against their images: grids and values read by each format's
library (`mask_formats`, `mask_geometry`), the rules and their words (`mask_content`), one
upload checked (`mask_content_scan`) and the results stored (`mask_content_check`). Imports
`core` and `uploads`.
"""
