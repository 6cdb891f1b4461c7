"""drillbook.drill."""
