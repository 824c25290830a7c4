"""What an upload holds: archive listings per format (zip, tar, 7z), the members named as masks that are none (`not_masks`), what changed between uploads, listings stored in bulk."""
