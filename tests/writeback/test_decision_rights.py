"""Decision rights on a three-level organisation: a team's manager decides within the team; a
move between teams needs both managers or their lowest common manager; RevOps decides
anything; an undecided proposal escalates one level up after N days, with one reminder."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from territory_ops.notify.escalation import escalate_and_remind
from territory_ops.notify.sender import OutboxDigestSender
from territory_ops.planning.config import DecisionSettings, PassConfigError, load_pass_config
from territory_ops.planning.due import due_changes
from territory_ops.planning.escalation import escalate
from territory_ops.planning.org import load_org_chart
from territory_ops.writeback.decisions import (
    DecisionRefused,
    NoDecisionRight,
    appeal,
    decide_as,
    decision_log,
)
from territory_ops.writeback.proposal_rows import insert_proposals
from tests.org.tables import write_org_chart as write_org_table

from .conftest import make_rows

# VP Vera over directors Dana (Maria's and Omar's teams) and Dirk (Mei's team)
ORG = [
    ("V1", "Vera Holt", "vera@example.com", None, "manager", "U0VERA"),
    ("D1", "Dana Reyes", "dana@example.com", "V1", "manager", "U0DANA"),
    ("D2", "Dirk Lang", "dirk@example.com", "V1", "manager", None),
    ("M1", "Maria Chen", "maria@example.com", "D1", "manager", None),
    ("M2", "Omar Haddad", "omar@example.com", "D1", "manager", "U0OMAR"),
    ("M3", "Mei Wong", "mei@example.com", "D2", "manager", None),
    ("R1", "Ana Ruiz", "ana@example.com", "M1", "rep", None),
    ("R2", "Ben Lee", "ben@example.com", "M1", "rep", None),
    ("R3", "Cara Diaz", "cara@example.com", "M2", "rep", "U0CARA"),
    ("R4", "Dev Patel", "dev@example.com", "M3", "rep", None),
    ("R9", "Gus Hale", "gus@example.com", None, "rep", None),
]
SETTINGS = DecisionSettings(escalate_after_days=5, revops=("revops@example.com",))
AT = datetime(2026, 11, 2, 9, 0)


def write_org_chart(con: duckdb.DuckDBPyConnection) -> None:
    write_org_table(con, ORG)


@pytest.fixture
def org(con):
    write_org_chart(con)
    frame = make_rows(
        [
            ("A1", "R1", "R2", "open"),  # within Maria's team
            ("A2", "R1", "R3", "open"),  # Maria's team -> Omar's (both under Dana)
            ("A3", "R1", "R4", "open"),  # Dana's region -> Dirk's (lowest common: Vera)
            ("A4", None, "R3", "open"),  # a new account for Omar's team
            ("A5", "R9", "R1", "open"),  # from a rep without a manager
        ]
    )
    insert_proposals(con, frame)
    return dict(zip(frame["account_id"], frame["proposal_id"], strict=True))


def _decide(con, ids, action, by, **kw):
    return decide_as(con, ids, action, by=by, settings=SETTINGS, now=AT, **kw)


def _status(con, pid):
    return con.execute(
        "select status from plans.proposals where proposal_id = ?", [pid]
    ).fetchone()[0]


def _log(con, pid):
    return (
        decision_log(con, pid)
        .select("action", "status_before", "status_after", "decided_by", "decided_as")
        .rows()
    )


def _due(con) -> set[str]:
    return set(due_changes(con, date(2099, 1, 1)).accounts["account_id"].to_list())


def test_within_a_team_its_manager_decides(con, org):
    with pytest.raises(NoDecisionRight, match="decided by Maria Chen, or RevOps") as refused:
        _decide(con, [org["A1"]], "approve", "omar@example.com")
    assert "Omar Haddad may not decide this change" in str(refused.value)
    assert _status(con, org["A1"]) == "open" and decision_log(con).is_empty()
    (done,) = _decide(con, [org["A1"]], "approve", "maria@example.com")
    assert (done.status_after, done.decided_as, done.waiting_for) == ("approved", "both", None)
    assert _log(con, org["A1"]) == [("approve", "open", "approved", "maria@example.com", "both")]


def test_a_move_between_teams_waits_for_both_managers(con, org):
    pid = org["A2"]
    (first,) = _decide(con, [pid], "approve", "M1", note="fine by me")
    assert first.status_after == "open" and first.decided_as == "losing"
    assert first.waiting_for == (
        "Omar Haddad (gaining team), or Dana Reyes (their lowest common manager), or RevOps"
    )
    assert _status(con, pid) == "open" and "A2" not in _due(con)  # not due for write-back
    # the same side again: refused, nothing logged
    with pytest.raises(NoDecisionRight, match="already approved by M1 \\(losing team\\)"):
        _decide(con, [pid], "approve", "maria@example.com")
    (second,) = _decide(con, [pid], "approve", "Omar Haddad")  # a unique full name
    assert (second.status_before, second.status_after) == ("open", "approved")
    assert "A2" in _due(con)
    log = decision_log(con, pid)
    assert _log(con, pid) == [
        ("approve", "open", "open", "M1", "losing"),
        ("approve", "open", "approved", "Omar Haddad", "gaining"),
    ]
    assert log["note"][0] == (
        "fine by me; waiting for Omar Haddad (gaining team), or Dana Reyes (their lowest "
        "common manager), or RevOps"
    )
    assert log["effective_on"][1] is not None  # the final approval carries the date


def test_the_lowest_common_manager_decides_alone_and_no_one_below_it_does(con, org):
    (done,) = _decide(con, [org["A2"]], "approve", "dana@example.com")
    assert (done.status_after, done.decided_as) == ("approved", "both")
    # across two directors' regions only Vera is common to both sides
    with pytest.raises(NoDecisionRight) as refused:
        _decide(con, [org["A3"]], "approve", "dana@example.com")
    assert refused.value.reasons[org["A3"]] == (
        "Dana Reyes may not decide this change; it is decided by Maria Chen (losing team) and "
        "Mei Wong (gaining team), or Vera Holt (their lowest common manager), or RevOps"
    )
    (vp,) = _decide(con, [org["A3"]], "approve", "U0VERA")  # a Slack id
    assert vp.status_after == "approved"


def test_a_rejection_by_either_side_rejects(con, org):
    _decide(con, [org["A2"]], "approve", "maria@example.com")
    (no,) = _decide(con, [org["A2"]], "reject", "omar@example.com", note="keeps the renewal")
    assert (no.status_before, no.status_after, no.decided_as) == ("open", "rejected", "gaining")
    assert "A2" not in _due(con)


def test_placements_and_managerless_sides(con, org):
    (new,) = _decide(con, [org["A4"]], "approve", "omar@example.com")
    assert new.status_after == "approved" and new.decided_as == "gaining"
    (half,) = _decide(con, [org["A5"]], "approve", "maria@example.com")
    assert half.waiting_for == "RevOps (losing team: no manager in the org chart)"
    (rest,) = _decide(con, [org["A5"]], "approve", "revops@example.com")
    assert (rest.status_after, rest.decided_as) == ("approved", "revops")


def test_revops_decides_anything_and_alone_decides_appeals(con, org):
    _decide(con, [org["A1"]], "approve", "maria@example.com")
    appeal(con, [org["A1"]], by="Rep R1", note="deal closing", now=AT)
    with pytest.raises(NoDecisionRight, match="an appealed change waits for RevOps"):
        _decide(con, [org["A1"]], "reject", "maria@example.com")
    (upheld,) = _decide(con, [org["A1"]], "reject", "REVOPS@example.com")
    assert (upheld.status_before, upheld.decided_as) == ("appealed", "revops")
    (anything,) = _decide(con, [org["A3"]], "approve", "revops@example.com")
    assert anything.status_after == "approved"


def test_someone_unknown_is_refused_and_a_batch_is_all_or_nothing(con, org):
    with pytest.raises(NoDecisionRight, match="neither a manager in the org chart nor RevOps"):
        _decide(con, [org["A1"]], "approve", "Maria")
    with pytest.raises(DecisionRefused) as refused:
        _decide(con, [org["A1"], org["A4"]], "approve", "maria@example.com")
    assert list(refused.value.reasons) == [org["A4"]]
    assert decision_log(con).is_empty()


def test_an_undecided_proposal_escalates_after_n_days_once(con, org):
    chart = load_org_chart(con)
    # SNAPSHOT 2026-11-01, N = 5: not yet on the 5th, due on the 6th
    assert escalate(con, chart, SETTINGS, date(2026, 11, 5)) == []
    ups = {e.proposal_id: e for e in escalate(con, chart, SETTINGS, date(2026, 11, 6))}
    assert escalate(con, chart, SETTINGS, date(2026, 11, 6)) == []  # once per escalation
    assert ups[org["A1"]].to_user_ids == ("D1",) and ups[org["A1"]].side == "both"
    assert ups[org["A3"]].to_user_ids == ("D1", "D2")  # each waiting side one level up
    assert ups[org["A5"]].to_user_ids == ("D1",)  # the managerless side is RevOps's already
    (row,) = (
        decision_log(con, org["A1"])
        .select("action", "status_before", "status_after", "decided_by", "decided_as", "note")
        .rows()
    )
    assert row == (
        "escalate",
        "open",
        "open",
        "escalation policy",
        "both",
        "undecided for 5 days since 2026-11-01: escalated to Dana Reyes (D1), who may now decide",
    )
    # the next level may now decide: Dana approves Maria's team's move
    (done,) = _decide(con, [org["A1"]], "approve", "dana@example.com")
    assert done.status_after == "approved"
    # five days after the escalation, the next one: Vera over Dana and Dirk
    again = {e.proposal_id: e for e in escalate(con, chart, SETTINGS, date(2026, 11, 11))}
    assert again[org["A3"]].to_user_ids == ("V1",) and again[org["A3"]].level == 2
    assert org["A1"] not in again


def test_after_a_first_approval_only_the_waiting_side_escalates(con, org):
    chart = load_org_chart(con)
    _decide(con, [org["A3"]], "approve", "maria@example.com")
    with pytest.raises(NoDecisionRight):
        _decide(con, [org["A3"]], "approve", "dirk@example.com")
    ups = {e.proposal_id: e for e in escalate(con, chart, SETTINGS, date(2026, 11, 6))}
    assert ups[org["A3"]].side == "gaining" and ups[org["A3"]].to_user_ids == ("D2",)
    (done,) = _decide(con, [org["A3"]], "approve", "dirk@example.com")
    assert (done.status_after, done.decided_as) == ("approved", "gaining")


def test_escalation_reminds_each_new_decider_exactly_once(con, org, tmp_path):
    sender = OutboxDigestSender(tmp_path / "outbox")
    first = escalate_and_remind(
        con, sender, SETTINGS, as_of=date(2026, 11, 6), revops_channel="#revops"
    )
    # A1, A2 (both sides' next level), A4, A5 -> Dana; A3 -> Dana and Dirk
    assert len(first.escalations) == 5 and first.reminders == 6
    assert len(first.delivery.sent) == 6
    again = escalate_and_remind(
        con, sender, SETTINGS, as_of=date(2026, 11, 6), revops_channel="#revops"
    )
    assert (again.escalations, again.reminders, again.delivery.sent) == ([], 0, [])
    files = sorted((tmp_path / "outbox" / "slack").glob("*.json"))
    assert len(files) == 6
    texts = [json.loads(f.read_text())["text"] for f in files]
    assert sum("Account A3 (A3): Ana Ruiz (R1) → Dev Patel (R4)" in t for t in texts) == 2
    kinds = con.execute("select kind, count(*) from notify.outbox group by kind").fetchall()
    assert kinds == [("escalation_reminder", 6)]


def test_escalation_past_the_top_goes_to_revops_once(con, org, tmp_path):
    chart = load_org_chart(con)
    days = [date(2026, 11, d) for d in (6, 11, 16, 21, 26)]
    tops = [{e.proposal_id: e.to_user_ids for e in escalate(con, chart, SETTINGS, d)} for d in days]
    a3 = [t.get(org["A3"]) for t in tops]
    assert a3 == [("D1", "D2"), ("V1",), (), None, None]  # RevOps after the top, then nothing


def test_decisions_settings_are_validated_by_name():
    with pytest.raises(PassConfigError, match="decisions.escalate_afterdays: unknown setting"):
        load_pass_config(overrides={"decisions": {"escalate_afterdays": 3}})
    with pytest.raises(PassConfigError, match="decisions.escalate_after_days: 0 must be"):
        load_pass_config(overrides={"decisions": {"escalate_after_days": 0}})
    assert load_pass_config().decisions.revops == ("revops@example.com",)


def test_cli_approve_waits_for_the_other_manager_and_escalate_runs(con, org, monkeypatch, tmp_path):
    from territory_ops.cli import app

    con.close()
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("TERRITORY_OPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    runner = CliRunner()
    first = runner.invoke(
        app, ["proposals", "approve", "--id", org["A2"], "--by", "maria@example.com"]
    )
    assert first.exit_code == 0, first.output
    assert "still open, waiting for Omar Haddad (gaining team)" in first.output
    assert "1 approved for one team, waiting for the other's manager." in first.output
    refused = runner.invoke(app, ["proposals", "reject", "--id", org["A1"], "--by", "Omar Haddad"])
    assert refused.exit_code == 1 and "decided by Maria Chen, or RevOps" in refused.output
    up = runner.invoke(app, ["proposals", "escalate", "--as-of", "2026-11-06"])
    assert up.exit_code == 0, up.output
    assert f"{org['A1']}: waiting since 2026-11-01; escalated to D1" in up.output
    listed = runner.invoke(app, ["proposals", "list", "--status", "open"])
    line = next(x for x in listed.output.splitlines() if x.startswith(org["A2"]))
    assert "approved by maria@example.com (losing team); escalated on 2026-11-06" in line


def test_who_may_move_an_open_proposal_on(con, org):
    from territory_ops.planning.audit import open_round
    from territory_ops.planning.rights import deciders_now

    chart = load_org_chart(con)
    row = {"from_rep_id": "R1", "to_rep_id": "R4"}
    assert deciders_now(chart, row) == ("M1", "M3", "V1")
    _decide(con, [org["A3"]], "approve", "maria@example.com")
    escalate(con, chart, SETTINGS, date(2026, 11, 6))
    rounds = open_round(con, [org["A3"]])[org["A3"]]
    assert deciders_now(chart, row, rounds) == ("D2", "M3", "V1")
