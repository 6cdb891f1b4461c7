"""drillbook.slo."""
