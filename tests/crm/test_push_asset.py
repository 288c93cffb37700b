"""The Dagster push asset: the CRM's answers in the warehouse, one summary in the outbox,
counts (never credentials) in its metadata, and a failed run when the CRM refuses."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.crm import PUSH_KEY, build_crm_assets
from pipelines.notify import EnvSlackResource
from pipelines.resources import WarehouseResource
from territory_ops.crm.hubspot import TOKEN_VAR, URL_VAR

from .hubspot_standin import Company, Owner, Portal, running
from .push_fixtures import approved_moves, statuses

TOKEN = "pat-na1-asset-secret-7777"


def _materialize(tmp_path: Path, db: Path) -> dg.ExecuteInProcessResult:
    push = build_crm_assets("hubspot")[1]
    return dg.materialize(
        [push],
        resources={
            "warehouse": WarehouseResource(database=str(db), archive_dir=str(tmp_path / "a")),
            "slack": EnvSlackResource(outbox_dir=str(tmp_path / "outbox")),
        },
        run_config={"ops": {"crm__push": {"config": {"as_of": "2026-12-01"}}}},
        raise_on_error=False,
    )


def test_the_push_asset_applies_records_and_sends_one_summary(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = Portal(
        token=TOKEN,
        companies=[Company("301", {"hubspot_owner_id": "1"}), Company("302", {})],
        owners=[Owner("1", "a@example.com"), Owner("2", "b@example.com")],
    )
    approved_moves(con, [("301", "1", "2"), ("302", "1", "2")])
    db = Path(
        con.execute("select path from duckdb_databases() where database_name = 'w'").fetchone()[0]
    )
    con.close()
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with running(portal) as server:
        monkeypatch.setenv(TOKEN_VAR, TOKEN)
        monkeypatch.setenv(URL_VAR, server.url)
        result = _materialize(tmp_path, db)
        assert result.success
        metadata = result.asset_materializations_for_node("crm__push")[0].metadata
        assert metadata["applied changes"].value == 2
        assert TOKEN not in json.dumps({k: str(v) for k, v in metadata.items()})
        monkeypatch.setenv(TOKEN_VAR, "pat-revoked")
        with duckdb.connect(str(db)) as again:
            approved_moves(again, [("302", "2", "1")], run_id="run-push-2")
        refused = _materialize(tmp_path, db)
    assert not refused.success
    with duckdb.connect(str(db)) as again:
        assert statuses(again)["301"] == "applied"
        kinds = again.execute(
            "select kind, status from notify.outbox order by created_at"
        ).fetchall()
    assert kinds == [("alert:crm_push", "sent"), ("alert:crm_push_refused", "sent")]
    assert len(list((tmp_path / "outbox" / "slack").glob("*.txt"))) == 2
    assert PUSH_KEY.to_user_string() == "crm/push"
