"""Step definitions for this repository's seed systems."""
