"""Pass settings: the committed file loads; unknown keys and impossible values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory_ops.planning.config import (
    PASSES_YAML,
    PassConfigError,
    load_pass_config,
    validate_pass_config,
)


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
