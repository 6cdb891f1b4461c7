"""drillbook's pytest plugin: the Gherkin step library and drill fixtures are registered here."""

from __future__ import annotations
