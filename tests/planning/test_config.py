"""Pass settings: the committed file loads; unknown keys and impossible values name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from territory_ops.planning.config import (
    PASSES_YAML,
    PassConfigError,
    load_pass_config,
    validate_pass_config,
)
from territory_ops.planning.report import kpi_labels


def test_committed_file_gives_documented_defaults():
    config = load_pass_config()
    assert config.pass_kind in ("full", "micro", "refresh")
    assert config.move_budget is None and config.move_budget_share == 0.01
    assert config.effective_move_budget(3000) == 30
    assert config.schedule.holiday_country == "US"


def test_refresh_never_moves_and_full_may_move_everything():
    refresh = load_pass_config(overrides={"pass_kind": "refresh", "move_budget": 50})
    assert refresh.effective_move_budget(1000) == 0
    assert load_pass_config(overrides={"pass_kind": "full"}).effective_move_budget(1000) == 1000


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"tolerence": 0.1}, "tolerence"),
        ({"drift": {"rep_potential": 0.1}}, "drift.rep_potential"),
        ({"tolerance": -0.05}, "tolerance"),
        ({"move_budget": -1}, "move_budget"),
        ({"pass_kind": "yearly"}, "pass_kind"),
        ({"time_limit": 0}, "time_limit"),
        ({"tolerance": "wide"}, "tolerance"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "schedule.timezone"),
    ],
)
def test_bad_settings_fail_naming_the_key(overrides, named):
    with pytest.raises(PassConfigError, match=rf"^{named.replace('.', '[.]')}\b|{named}:"):
        load_pass_config(overrides=overrides)


def test_move_budget_above_the_account_count_is_refused():
    config = load_pass_config(overrides={"move_budget": 500})
    validate_pass_config(config, n_accounts=500)
    with pytest.raises(PassConfigError, match="move_budget: 501 is above the 500 accounts"):
        validate_pass_config(load_pass_config(overrides={"move_budget": 501}), n_accounts=500)


def test_a_bad_file_names_file_and_key(tmp_path: Path):
    bad = tmp_path / "passes.yaml"
    bad.write_text(PASSES_YAML.read_text() + "\nmove_budgte: 3\n")
    with pytest.raises(PassConfigError, match=r"passes\.yaml: move_budgte: unknown pass setting"):
        load_pass_config(bad)


def test_a_file_missing_a_setting_names_it(tmp_path: Path):
    bad = tmp_path / "passes.yaml"
    text = PASSES_YAML.read_text()
    bad.write_text(text.replace("  rep_workload_pct: 1.00", "  # rep_workload_pct removed"))
    with pytest.raises(PassConfigError, match=r"passes\.yaml: drift\.rep_workload_pct: missing"):
        load_pass_config(bad)


def test_an_override_of_a_section_keeps_its_other_settings():
    config = load_pass_config(overrides={"weights": {"balance_km": 2}, "drift": None})
    committed = load_pass_config()
    assert config.weights.balance_km == 2.0
    assert config.weights.full_disruption_km == committed.weights.full_disruption_km
    assert config.drift == committed.drift


def _documented_defaults() -> dict[str, object]:
    """key -> default of the table in docs/planning.md (``a`, `b`` rows list several)."""
    doc = (PASSES_YAML.parents[1] / "docs" / "planning.md").read_text(encoding="utf-8")
    table = doc.split("## Pass settings")[1].split("\n\n")[2]
    out: dict[str, object] = {}
    for row in table.splitlines()[2:]:
        keys, defaults = row.split("|")[1:3]
        names = [k.strip(" `") for k in keys.split(",")]
        values = [yaml.safe_load(v.strip(" `")) for v in re.split(r"`\s*,\s*`", defaults)]
        if len(values) == 1:
            values *= len(names)
        out.update(zip(names, values, strict=True))
    return out


def _flat(settings: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_the_documented_defaults_are_the_committed_file():
    assert _documented_defaults() == _flat(load_pass_config().as_dict())


def test_kpi_labels_name_the_targets_the_pass_settings_hold():
    drift = load_pass_config().drift
    assert kpi_labels()["potential_cv"][0] == (
        f"potential CV (target < {drift.potential_cv_target:.2f})"
    )
    stricter = dataclasses.replace(drift, potential_cv_target=0.08, workload_cv_target=0.12)
    labels = kpi_labels(stricter)
    assert labels["potential_cv"][0] == "potential CV (target < 0.08)"
    assert labels["workload_cv"][0] == "workload CV (target < 0.12)"
    assert labels["share_in_band"][0] == "reps in band"
