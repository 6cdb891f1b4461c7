"""drillbook.traffic."""
