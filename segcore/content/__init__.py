"""Content checks of masks against their images: size, geometry, emptiness, labels, per format, read within a budget."""
