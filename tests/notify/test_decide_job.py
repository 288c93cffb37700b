"""The Dagster side of decisions: the ``decide_proposals`` job and the digest step's place."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.definitions import defs
from pipelines.notify import DECIDE_JOB
from territory_ops.writeback.decisions import decision_log
from territory_ops.writeback.proposal_rows import insert_proposals


def test_manager_digests_follow_proposed_changes_in_the_pass_job():
    graph = defs.resolve_asset_graph()
    digests = graph.get(dg.AssetKey("manager_digests"))
    assert dg.AssetKey("proposed_changes") in digests.parent_keys
    job = defs.resolve_job_def("territory_pass")
    assert "manager_digests" in {node.name for node in job.nodes}
    # the token is never configuration: no field of the Slack resource can carry it
    slack = defs.resources["slack"]
    assert not {"token", "bot_token", "slack_bot_token"} & set(type(slack).model_fields)


def run_decide(db, tmp_path, **config) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(DECIDE_JOB)
    return job.execute_in_process(
        run_config={
            "ops": {"decide_op": {"config": config}},
            "resources": {
                "warehouse": {"config": {"database": str(db), "archive_dir": str(tmp_path / "a")}}
            },
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_decide_job_records_decisions_and_refuses_twice(tmp_path, sample):
    db = tmp_path / "w.duckdb"
    proposals = sample.proposals()
    with duckdb.connect(str(db)) as con:
        insert_proposals(con, proposals)
        sample.write_org_chart(con)
    first = proposals["proposal_id"][0]  # within Maria's team
    done = run_decide(db, tmp_path, decision="approve", by="Maria Chen", note="ok", ids=[first])
    assert done.success
    again = run_decide(db, tmp_path, decision="reject", by="omar.haddad@example.com", ids=[first])
    assert not again.success
    [failure] = [e for e in again.all_events if e.event_type_value == "STEP_FAILURE"]
    assert (
        "already approved by Maria Chen" in failure.step_failure_data.user_failure_data.description
    )
    with duckdb.connect(str(db)) as con:
        log = decision_log(con)
    assert log.select("proposal_id", "action", "decided_by", "channel").rows() == [
        (first, "approve", "Maria Chen", "dagster")
    ]


def test_decide_job_refuses_who_has_no_right(tmp_path, sample):
    db = tmp_path / "w.duckdb"
    proposals = sample.proposals()
    with duckdb.connect(str(db)) as con:
        insert_proposals(con, proposals)
        sample.write_org_chart(con)
    first = proposals["proposal_id"][0]  # within Maria's team
    done = run_decide(db, tmp_path, decision="approve", by="omar.haddad@example.com", ids=[first])
    assert not done.success
    [failure] = [e for e in done.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "it is decided by Maria Chen, or RevOps" in (
        failure.step_failure_data.user_failure_data.description
    )
    with duckdb.connect(str(db)) as con:
        assert decision_log(con).is_empty()
