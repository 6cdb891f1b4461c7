"""drillbook's Gherkin layer: the pytest-bdd step library, the run's journal and collection-time checks."""
