"""Drill timings reach users through ini options; a bad value names its key."""

from __future__ import annotations

import pytest

from drillbook.drill.spec import INI_SETTINGS, DrillSettings, settings_from_ini
from drillbook.errors import UsageError


def test_unset_ini_options_keep_the_defaults() -> None:
    assert settings_from_ini(lambda _key: "") == DrillSettings()


def test_ini_options_set_their_fields() -> None:
    ini = {"drillbook_recovery_watch": "90", "drillbook_hold": "7.5", "drillbook_breach_margin": "0"}
    settings = settings_from_ini(lambda key: ini.get(key, ""))
    assert (settings.restore_within_s, settings.hold_s, settings.breach_margin) == (90.0, 7.5, 0.0)
    assert settings.baseline_s == DrillSettings().baseline_s


@pytest.mark.parametrize("bad", ["soon", "-3"])
def test_a_bad_value_names_the_key_and_what_it_takes(bad: str) -> None:
    with pytest.raises(UsageError, match=rf"ini option drillbook_hold = '{bad}': expected a number of seconds"):
        settings_from_ini(lambda key: bad if key == "drillbook_hold" else "")


def test_every_ini_option_sets_a_real_field() -> None:
    fields = set(DrillSettings.__dataclass_fields__)
    assert {name for name, _ in INI_SETTINGS.values()} <= fields
