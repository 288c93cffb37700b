"""Options with a fixed set of values: an unknown value is a usage error that lists them; a
known one does what it says (``proposals list --status``, decisions through the CLI)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.planning.config import PASS_KINDS
from territory_ops.planning.status import ProposalStatus
from territory_ops.writeback.proposal_rows import insert_proposals

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "option", "choices"),
    [
        (["proposals", "list", "--status", "proposed"], "--status", list(ProposalStatus)),
        (["proposals", "list", "--format", "xlsx"], "--format", ["table", "csv"]),
        (["run", "--landing", ".", "--pass", "weekly"], "--pass", list(PASS_KINDS)),
        (
            ["optimize", "--accounts", "a", "--reps", "r", "--out", "o", "--mode", "weekly"],
            "--mode",
            ["full", "micro"],
        ),
    ],
)
def test_an_unknown_value_is_a_usage_error_that_lists_the_choices(args, option, choices):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    for choice in choices:
        assert f"'{choice}'" in result.output


def test_proposals_list_filters_by_a_known_status(warehouse, make, monkeypatch):
    con, ids = warehouse
    insert_proposals(con, make([("001A6", "R1", "R2", "rejected")], run_id="run-full-0"))
    path = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    con.close()
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", path)

    rejected = runner.invoke(app, ["proposals", "list", "--status", "rejected"])
    assert rejected.exit_code == 0, rejected.output
    assert "1 proposal(s)." in rejected.output and "001A6" in rejected.output

    approved = runner.invoke(
        app, ["proposals", "approve", "--id", ids["001A1"], "--by", "revops@example.com"]
    )
    assert approved.exit_code == 0, approved.output
    assert f"{ids['001A1']}: open -> approved (by revops@example.com)" in approved.output

    listed = runner.invoke(app, ["proposals", "list", "--status", "open", "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    rows = listed.output.splitlines()[1:]
    assert len(rows) == 4 and all(",open," in row for row in rows)
