"""drillbook: prove that operational runbooks still work."""

__version__ = "0.1.0"
