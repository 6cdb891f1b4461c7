"""drillbook.runbook."""
