"""Label and field selectors parse and match like the API server's."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.selectors import (
    field_predicate,
    label_predicate,
    selector_from_match,
    selector_string,
)
from drillbook.platform.local.kube.status import ApiStatusError


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "db"}, False),
        ("app!=web", {}, True),
        ("env in (prod, stage),tier", {"env": "prod", "tier": "fe"}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("!legacy", {"legacy": "1"}, False),
        ("", {"x": "1"}, True),
    ],
)
def test_label_selector_matches_like_upstream(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_predicate(selector)(labels) is expected


def test_malformed_label_selector_is_a_bad_request() -> None:
    with pytest.raises(ApiStatusError) as exc:
        label_predicate("app in prod")
    assert exc.value.code == 400


def test_field_selector_reads_dotted_paths_with_negation() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"nodeName": "localkube"},
        "status": {"phase": "Running"},
    }
    assert field_predicate("metadata.name=p,spec.nodeName=localkube")(pod)
    assert field_predicate("status.phase!=Failed,status.phase!=Succeeded")(pod)
    assert not field_predicate("involvedObject.name=p")(pod)


def test_label_selector_objects_match_and_render() -> None:
    spec = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["a"]}]}
    assert selector_from_match(spec)({"app": "web", "env": "a"})
    assert not selector_from_match(spec)({"app": "web"})
    assert not selector_from_match({})({"app": "web"})
    assert selector_string(spec) == "app=web,env in (a)"
