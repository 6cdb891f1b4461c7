"""drillbook.platform.local."""
