"""drillbook.faults."""
