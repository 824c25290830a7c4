"""One upload checked: each mask matched to its image and read once within a budget
(`mask_content_scan`), the chunks it reads (`mask_content_reader`), 7z members (`mask_content_7z`),
the image a mask is checked against (`mask_images`), and a mask that is its image saved again
(`image_pixels`)."""
