"""Reading masks and images, one library per format: the reader (`mask_formats`), DICOM, NumPy
and multi-page TIFF (`mask_format_dicom`, `mask_format_numpy`, `mask_format_tiff`), DICOM pixel
data decoded as the viewers decode it (`dicom_pixels`), colour channels made one value per pixel
(`mask_channels`), what a read returns (`mask_geometry`), and every reason a read words itself,
with what this check cannot read (`read_reasons`)."""
