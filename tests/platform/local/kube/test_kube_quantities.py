"""Resource quantities read the way Kubernetes writes them."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.defaults import pod_spec
from drillbook.platform.local.kube.quantities import canonical_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", 0.25), ("2", 2.0), ("0.5", 0.5), ("256Mi", 256 * 2**20), ("1G", 1e9), ("5000000n", 0.005)],
)
def test_quantities_parse_to_plain_numbers(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1500m", "1500m"),
        ("2000", "2k"),
        ("1024Mi", "1Gi"),
        ("512Mi", "512Mi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("100M", "100M"),
        ("0", "0"),
        ("1e3", "1e3"),
    ],
)
def test_quantities_are_stored_in_upstream_canonical_form(text: str, canonical: str) -> None:
    assert canonical_quantity(text) == canonical


def test_container_resources_are_canonicalised_by_defaulting() -> None:
    spec = {
        "containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}}}]
    }
    pod_spec(spec)
    assert spec["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
