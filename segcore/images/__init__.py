"""A batch's images on disk and mask-to-image matching (mask_matching, batch_images)."""
