"""File helpers: atomic writes, checksums, strict JSON and output folders."""
