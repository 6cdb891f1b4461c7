"""drillbook.report."""
