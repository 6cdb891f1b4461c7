"""drillbook.platform."""
