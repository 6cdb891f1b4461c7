"""Resource quantities read the way Kubernetes writes them."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.controllers.hpa import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", 0.25), ("2", 2.0), ("0.5", 0.5), ("256Mi", 256 * 2**20), ("1G", 1e9), ("5000000n", 0.005)],
)
def test_quantities_parse_to_plain_numbers(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)
