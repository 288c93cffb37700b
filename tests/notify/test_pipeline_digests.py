"""The territory job with Slack: digests per manager, decisions that stick, write-back, no secret.

Two passes on one small snapshot through the real job, the real fake-Slack HTTP server on
loopback and the real CLI:

1. full pass -> exactly one digest per manager with proposals, one roll-up per regional
   director above them, the RevOps summary and one roll-up per region in the RevOps channel;
2. approve one change, reject another (CLI), run the same pass again -> nothing posted anew,
   the approved change is kept by the new plan, the rejected one is not proposed again;
3. ``territory-ops writeback`` -> exactly the approved change;
4. the bot token and the signing secret appear nowhere the runs wrote.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.notify.pass_digests import notify_run
from territory_ops.notify.sender import OutboxDigestSender
from territory_ops.planning import store
from territory_ops.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_pipeline_digests")]

SNAPSHOT = "2026-06-30"
PASS = {"pass_kind": "full", "time_limit": 5.0}  # small book: a short solver budget
SIGNING_SECRET = "pipeline-signing-secret-7c1d9e2b4a6f"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from territory_ops.extracts.sample import generate_sample

    source = tmp_path_factory.mktemp("slack_src")
    generate_sample(source, accounts=160, reps=8, months=1, seed=3, as_of=date(2026, 6, 30))
    return source


def managers_in(landing: Path) -> dict[str, str]:
    """Manager e-mail -> Slack id for the fake workspace (every manager of a sales rep)."""
    users = pl.read_csv(landing / SNAPSHOT / "User.csv", infer_schema_length=0)
    ids = set(users["ManagerId"].drop_nulls())
    managers = users.filter(pl.col("Id").is_in(list(ids)))
    return {e: f"U{i}" for i, e in managers.select("Id", "Email").iter_rows() if e}


def posts_by_channel(fake_slack) -> dict[str, int]:
    counts: dict[str, int] = {}
    for post in fake_slack.posts():
        counts[post["channel"]] = counts.get(post["channel"], 0) + 1
    return counts


def expected_managers(db: Path, run_id: str) -> set[str]:
    """Managers (Slack DM channel ids) of the reps on either side of an open proposal, of a
    change the routing policy approved in the pass, or of a deal held after a move."""
    from territory_ops.planning.due import holdover_report

    with duckdb.connect(str(db), read_only=True) as con:
        (snapshot,) = con.execute(
            "select snapshot_date from plans.runs where run_id = ?", [run_id]
        ).fetchone()
        held = holdover_report(con, snapshot)
        reps = set(held["held_by"].to_list()) | set(held["to_owner_id"].to_list())
        rows = con.execute(
            "select distinct r.manager_id from plans.proposals p join marts.rep_roster r "
            "on r.rep_id in (p.from_rep_id, p.to_rep_id) "
            "where p.run_id = ? and r.manager_id is not null and (p.status = 'open' or ("
            "p.status = 'approved' and exists (select 1 from plans.decisions d "
            "where d.proposal_id = p.proposal_id and d.channel = 'policy'))) "
            "union select manager_id from marts.rep_roster "
            "where list_contains(?, rep_id) and manager_id is not null",
            [run_id, sorted(reps)],
        ).fetchall()
    return {f"DU{m}" for (m,) in rows}


def expected_directors(db: Path, run_id: str) -> set[str]:
    """Directors (Slack DM channel ids) above the managers of an open proposal's reps: the
    sample's regional directors, each the top of a region."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select distinct d.user_id from plans.proposals p join marts.rep_roster r "
            "on r.rep_id in (p.from_rep_id, p.to_rep_id) "
            "join marts.org_chart m on m.user_id = r.manager_id "
            "join marts.org_chart d on d.user_id = m.manager_id "
            "where p.run_id = ? and p.status = 'open'",
            [run_id],
        ).fetchall()
    return {f"DU{d}" for (d,) in rows}


def decision_log_of(db: Path) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("select proposal_id, run_id, channel from plans.decisions").pl()


def everything_written(home: Path, db: Path) -> str:
    """Every file under the home folder (event log, outbox, logs) and every warehouse value."""
    chunks = [p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            chunks.append(repr(rows))
    return "\n".join(chunks)


def test_digests_decisions_and_writeback_through_the_job(
    snapshot, tmp_path, monkeypatch, fake_slack
):
    from pipelines.run import run_territory_pass

    home, landing = tmp_path / "home", tmp_path / "landing"
    shutil.copytree(snapshot / SNAPSHOT, landing / SNAPSHOT)
    env = {
        "TERRITORY_OPS_HOME": home,
        "TERRITORY_OPS_DUCKDB": home / "territory.duckdb",
        "DAGSTER_HOME": home / "dagster_home",
        "TERRITORY_OPS_LANDING": landing,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "SLACK_API_URL": fake_slack.url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = Settings.from_env()
    fake_slack.users.update(managers_in(landing))

    # --- pass 1: one digest per manager with proposals, one roll-up per director above them,
    # the RevOps summary and one roll-up per region --------------------------------------------
    first = run_territory_pass(landing, settings, PASS)
    assert first.success, first.failures
    assert ("manager_digests", "success") in {(s.step, s.status) for s in first.steps}
    managers = expected_managers(settings.duckdb_path, first.run_id)
    assert managers, "the sample pass proposes changes for at least one team"
    directors = expected_directors(settings.duckdb_path, first.run_id)
    assert directors, "the sample has regional directors over its managers"
    assert posts_by_channel(fake_slack) == {
        **dict.fromkeys(managers | directors, 1),
        "#revops": 1 + len(directors),
    }
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        teams = con.execute(
            "select 'DU' || manager_id, list(user_name) from marts.org_chart "
            "where user_id in (select manager_id from marts.rep_roster) group by 1"
        ).fetchall()
    for post in fake_slack.posts():
        if post["channel"] in directors:  # a director's roll-up names each of their teams
            assert post["blocks"][0]["text"]["text"].startswith("Your region: ")
            for name in dict(teams)[post["channel"]]:
                assert f"{name}'s team" in json.dumps(post["blocks"], ensure_ascii=False)
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        open1 = store.proposals(con, status="open").sort("potential", descending=True)
    approved_id, rejected_id = open1["proposal_id"][0], open1["proposal_id"][1]
    approved = open1.row(0, named=True)

    # the same run's digests through the local outbox: one file per message
    copy = tmp_path / "copy.duckdb"
    shutil.copy(settings.duckdb_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from notify.outbox")
        report = notify_run(
            con, first.run_id, OutboxDigestSender(tmp_path / "box"), revops_channel="#revops"
        )
    expected_digests = len(managers) + 2 * len(directors) + 1
    assert report.digests == expected_digests and len(report.delivery.sent) == report.digests
    assert report.rollups == 2 * len(directors)
    assert len(list((tmp_path / "box" / "slack").glob("*.json"))) == expected_digests

    # --- decisions on the command line --------------------------------------------------------
    cli = CliRunner()
    ok = cli.invoke(
        app,
        [
            "proposals",
            "approve",
            "--id",
            approved_id,
            "--by",
            "revops@example.com",
            "--note",
            "agreed",
        ],
    )
    assert ok.exit_code == 0, ok.output
    no = cli.invoke(app, ["proposals", "reject", "--id", rejected_id, "--by", "revops@example.com"])
    assert no.exit_code == 0, no.output
    twice = cli.invoke(
        app, ["proposals", "reject", "--id", approved_id, "--by", "revops@example.com"]
    )
    assert twice.exit_code == 1 and "approved" in twice.output

    # --- pass 2, same snapshot: nothing posted anew, decisions respected ---------------------
    posts_before = len(fake_slack.posts())
    second = run_territory_pass(landing, settings, PASS)
    assert second.success, second.failures
    assert len(fake_slack.posts()) == posts_before, "a re-run must not post new messages"
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        plan2 = store.assignments(con, second.run_id)
        props = store.proposals(con)
    owner = dict(plan2.select("account_id", "rep_id").iter_rows())
    assert owner[approved["account_id"]] == approved["to_rep_id"], "the approved change survives"
    statuses = dict(props.select("proposal_id", "status").unique().iter_rows())
    assert statuses[approved_id] == "approved" and statuses[rejected_id] == "rejected"
    rejected = open1.row(1, named=True)
    again = props.filter(
        (pl.col("run_id") == second.run_id)
        & (pl.col("account_id") == rejected["account_id"])
        & (pl.col("to_rep_id") == rejected["to_rep_id"])
    )
    assert again.is_empty(), "a rejected change is not proposed again on unchanged inputs"
    assert props.filter(
        (pl.col("run_id") == second.run_id) & (pl.col("account_id") == approved["account_id"])
    ).is_empty(), "an approved change is not proposed a second time"

    # --- write-back: the approved changes (the manager's and the routing policy's), once -----
    policy = props.filter(pl.col("status") == "approved").join(
        decision_log_of(settings.duckdb_path).filter(pl.col("channel") == "policy"),
        on=["proposal_id", "run_id"],
    )
    out = tmp_path / "crm"
    done = cli.invoke(app, ["writeback", "--out", str(out)])
    assert done.exit_code == 0, done.output
    [owner_csv] = list(out.glob("*/Account.csv"))
    rows = pl.read_csv(owner_csv, infer_schema_length=0)
    expected = {(approved["account_id"], approved["to_rep_id"])} | set(
        policy.select("account_id", "to_rep_id").iter_rows()
    )
    assert set(rows.rows()) == expected and rows.height == len(expected)
    first_batch = sorted(p.name for p in out.glob("*/*.csv"))
    # the sample has overlay reps, so the batch carries the account teams of the moved accounts
    assert first_batch == ["Account.csv", "AccountTeam.csv", "Opportunity.csv", "change_log.csv"]
    assert cli.invoke(app, ["writeback", "--out", str(out)]).exit_code == 0
    assert sorted(p.name for p in out.glob("*/*.csv")) == first_batch, (
        "a second write-back exports nothing"
    )

    # --- no secret anywhere the runs wrote ----------------------------------------------------
    written = everything_written(home, settings.duckdb_path)
    assert fake_slack.token not in written
    assert SIGNING_SECRET not in written
    assert "manager_digests" in written  # the search did read the event log
