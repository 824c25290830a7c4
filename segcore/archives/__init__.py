"""What an upload holds: archive listings per format (zip, tar, 7z), what changed between uploads, listings stored in bulk."""
