"""drillbook.execute."""
