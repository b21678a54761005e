"""``make bench``: full and incremental runs of generated trials, timed against the I/O floor."""
