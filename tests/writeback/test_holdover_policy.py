"""The holdover policy: read from config/passes.yaml, refused naming the key, applied per deal."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.planning import config as config_module
from territory_ops.planning.config import PassConfigError, load_pass_config
from territory_ops.planning.holdover import (
    RULE_HOLDOVER_ENDED,
    RULE_MOVES,
    RULE_UNTIL_CLOSE,
    HoldoverPolicy,
    deal_transfers,
)
from territory_ops.settings import PASSES_YAML

MOVE_ON = date(2027, 1, 1)
REST = "  other_stages: move\n  max_age_days: null\n"


def _file(tmp_path: Path, holdovers: str) -> Path:
    text = PASSES_YAML.read_text(encoding="utf-8")
    head = text[: text.index("holdovers:")]
    path = tmp_path / "passes.yaml"
    path.write_text(head + holdovers, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "holdovers:\n  by_stage: {Negotiation: 60}\n" + REST,
            "holdovers.by_stage: unknown stage 'Negotiation'",
        ),
        (
            "holdovers:\n  by_stage: {}\n  other_stages: move\n  max_age_days: null\n  hold: 3\n",
            "holdovers.hold: unknown setting",
        ),
        (
            "holdovers:\n  by_stage: {Prospecting: 0}\n" + REST,
            "holdovers.by_stage.Prospecting: 0 is not a number of days",
        ),
        (
            "holdovers:\n  by_stage: {}\n  other_stages: forever\n  max_age_days: null\n",
            "holdovers.other_stages: 'forever' is not a number of days",
        ),
        ("holdovers:\n  by_stage: {}\n  other_stages: move\n", "holdovers.max_age_days: missing"),
    ],
)
def test_a_bad_policy_names_its_key(tmp_path, section, message):
    with pytest.raises(PassConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_pass_config(_file(tmp_path, section))


def test_writeback_with_a_bad_policy_exports_nothing(warehouse, tmp_path, monkeypatch):
    from territory_ops.cli import app
    from territory_ops.writeback.decisions import approve

    con, ids = warehouse
    approve(con, [ids["001A1"]], by="Maria Chen", now=datetime(2026, 11, 2, 9))
    con.close()
    bad = _file(
        tmp_path,
        "holdovers:\n  by_stage: {Negotiation: 60}\n  other_stages: move\n  max_age_days: null\n",
    )
    monkeypatch.setattr(config_module, "PASSES_YAML", bad)
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(tmp_path / "w.duckdb"))
    result = CliRunner().invoke(app, ["writeback", "--out", str(tmp_path / "crm")])
    assert result.exit_code == 2
    assert "holdovers.by_stage: unknown stage 'Negotiation'" in result.output
    assert not (tmp_path / "crm").exists()


def _deals() -> pl.DataFrame:
    rows = [
        ("O1", "Negotiation/Review", 100, "R1"),
        ("O2", "Negotiation/Review", 400, "R1"),  # stalled: older than max_age_days
        ("O3", "Proposal/Price Quote", 10, "R1"),
        ("O4", "Qualification", 10, "R1"),
        ("O5", "Prospecting", 10, "R7"),  # not the old owner's: left alone
    ]
    return pl.DataFrame(
        [
            {
                "opportunity_id": oid,
                "account_id": "A1",
                "owner_id": owner,
                "opportunity_name": oid,
                "stage_name": stage,
                "amount": 1.0,
                "created_at": date.fromordinal(MOVE_ON.toordinal() - age),
            }
            for oid, stage, age, owner in rows
        ]
    )


def test_rules_by_stage_and_age():
    policy = HoldoverPolicy.from_config(
        {
            "by_stage": {"Negotiation/Review": 30, "Proposal/Price Quote": "until_close"},
            "other_stages": "move",
            "max_age_days": 365,
        }
    )
    moves = pl.DataFrame(
        {
            "proposal_id": ["P1"],
            "account_id": ["A1"],
            "from_rep_id": ["R1"],
            "to_rep_id": ["R2"],
            "move_on": [MOVE_ON],
        }
    )
    out = deal_transfers(moves, _deals(), policy)
    assert out.select("opportunity_id", "rule", "due_on", "held_until").rows() == [
        ("O1", RULE_HOLDOVER_ENDED, date(2027, 1, 31), date(2027, 1, 31)),
        ("O2", RULE_MOVES, MOVE_ON, None),
        ("O3", RULE_UNTIL_CLOSE, None, None),
        ("O4", RULE_MOVES, MOVE_ON, None),
    ]
    assert out["transfer_id"].to_list()[0] == "P1:O1"
    # an old owner who may not own accounts keeps nothing
    gone = deal_transfers(moves, _deals(), policy, available_owner_ids=["R2"])
    assert set(gone["rule"]) == {RULE_MOVES}
