"""A batch's images on disk and mask-to-image matching (mask_matching, batch_images; dicom_objects
tells a DICOM object that holds no image)."""
