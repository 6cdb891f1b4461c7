"""A command the runbook writes but no incident step holds is reported with its line: no drill would run it."""

from __future__ import annotations

from pathlib import Path

from drillbook.gherkin.unattached import unattached_commands
from drillbook.runbook.model import Incident, Runbook
from drillbook.runbook.parser import parse_text

TEXT = """\
# Shop

## Incident: Checkout is slow

**Time to Resolve**: 15 minutes

### Steps

1. Restart the app

   ```bash
   kubectl rollout restart deployment/shop -n shop
   ```

## Common tasks

```bash
kubectl scale deployment/shop --replicas=3 -n shop
```

Check with `kubectl get pods -n shop` when in doubt; `SHOP_POOL_MAX` sizes the pool.
"""


def test_commands_outside_every_incident_are_reported_with_their_lines() -> None:
    runbook = parse_text(TEXT, "shop.md")
    found = unattached_commands(runbook, TEXT)
    assert [(u.line, u.text) for u in found] == [
        (18, "kubectl scale deployment/shop --replicas=3 -n shop"),
        (21, "kubectl get pods -n shop"),
    ]
    assert all(u.incident is None for u in found)
    assert found[0].format("shop.md").startswith("shop.md:18: unattached-command: 'kubectl scale")


def test_a_command_in_an_incident_section_that_no_step_holds_names_the_incident() -> None:
    runbook = Runbook(Path("shop.md"), "Shop", (Incident("checkout", "Checkout is slow", 3),))
    found = unattached_commands(runbook, TEXT)
    assert found[0].line == 12
    assert found[0].incident == "checkout"
    assert "in the section of incident 'checkout'" in found[0].format("shop.md")


def test_a_commented_line_in_a_code_block_does_not_end_the_incident_section() -> None:
    text = "# T\n\n## Incident A\n\n```bash\n# Restart it\nkubectl rollout restart deploy/a\n```\n"
    runbook = Runbook(Path("t.md"), "T", (Incident("a", "Incident A", 3),))
    assert [(u.line, u.incident) for u in unattached_commands(runbook, text)] == [(7, "a")]
