"""Rendering digests: grouping by manager, Slack limits, determinism, escaping."""

from __future__ import annotations

import json

import polars as pl
import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.model import ACTION_APPROVE, ACTION_APPROVE_ALL, ACTION_REJECT
from territory_ops.notify.pass_digests import run_kpis
from territory_ops.notify.summary import render_revops_summary
from territory_ops.notify.text import fit_lines, shorten
from tests.notify.block_limits import all_texts, check_limits


def test_one_digest_per_manager_with_the_moves_of_their_reps(sample):
    proposals = sample.proposals()
    result = render_manager_digests(proposals, sample.roster, run_url=sample.run_url)
    by_key = {d.recipient.key: d for d in result.digests}
    assert sorted(by_key) == ["manager:M1", "manager:M2"]

    def expected(team):
        hit = proposals.filter(pl.col("to_rep_id").is_in(team) | pl.col("from_rep_id").is_in(team))
        return set(hit["proposal_id"])

    assert set(by_key["manager:M1"].proposal_ids) == expected(["R1", "R2", "R3"])
    assert set(by_key["manager:M2"].proposal_ids) == expected(["R4", "R5"])
    # a move between the two teams goes to both managers
    assert set(by_key["manager:M1"].proposal_ids) & set(by_key["manager:M2"].proposal_ids)
    # Gus -> Finn: neither has a manager; it is reported, not dropped
    assert result.unrouted["to_rep_id"].to_list() == ["R6"]
    assert by_key["manager:M2"].recipient.slack_user_id == "U0OMAR"
    assert by_key["manager:M1"].recipient.email == "maria.chen@example.com"


def test_digest_shows_count_effect_covers_buttons_and_run_link(sample):
    digest = render_manager_digests(
        sample.proposals(), sample.roster, run_url=sample.run_url
    ).digests[0]
    check_limits(digest)
    blocks = json.dumps(digest.blocks, ensure_ascii=False)
    assert digest.blocks[0]["text"]["text"] == "5 proposed territory changes for your team"
    assert "*Effect on your reps*" in blocks and "Ana Ruiz*: 2 in / 0 out" in blocks
    assert "potential $900k → $1.01M (+$110k)" in blocks
    assert "covers for Cara Diaz until 2026-12-15" in blocks
    assert "Potential is high because intent signals rose 40%" in blocks  # reason sentence
    assert sample.run_url in blocks
    buttons = [e for b in digest.blocks if b["type"] == "actions" for e in b["elements"]]
    approve = [b["value"] for b in buttons if b["action_id"] == ACTION_APPROVE]
    reject = [b["value"] for b in buttons if b["action_id"] == ACTION_REJECT]
    assert approve == reject == list(digest.proposal_ids)
    (team,) = [b for b in buttons if b["action_id"] == ACTION_APPROVE_ALL]
    value = json.loads(team["value"])
    assert value["manager_id"] == "M1" and value["proposal_ids"] == list(digest.proposal_ids)
    assert "unassigned → Ben Lee" in digest.text


def test_long_lists_are_summarised_within_slack_limits(sample):
    result = render_manager_digests(sample.proposals(n=700), sample.roster, run_url=sample.run_url)
    for digest in result.digests:
        check_limits(digest)
        shown = sum(1 for b in digest.blocks if b.get("block_id", "").startswith("decide:"))
        assert 3 <= shown < len(digest.proposal_ids)
        more = [t for k, t in all_texts(digest.blocks) if "more proposed changes" in t]
        assert more == [
            f"…and {len(digest.proposal_ids) - shown} more proposed changes — "
            f'<{sample.run_url}|see the run in Dagster>. "Approve all" covers them too.'
        ]
        assert "more — see the run" in digest.text
        # too many ids for a button value: approve-all names the manager and run instead
        (team,) = [
            e
            for b in digest.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ACTION_APPROVE_ALL
        ]
        assert "proposal_ids" not in json.loads(team["value"])
    summary = render_revops_summary(
        sample.proposals(n=700),
        channel="#revops",
        out_of_band=[{"rep_id": f"R{i}", "reason": "locked accounts " * 5} for i in range(400)],
        drift_flags=[{"flag": f"drift {i}", "message": "moved"} for i in range(300)],
        unrouted=result.unrouted,
    )
    check_limits(summary)
    assert "…and" in json.dumps(summary.blocks, ensure_ascii=False)


def test_rendering_is_deterministic_and_the_key_ignores_the_run_link(sample):
    first = render_manager_digests(sample.proposals(), sample.roster, run_url=sample.run_url)
    again = render_manager_digests(
        sample.proposals(), sample.roster.reverse(), run_url=sample.run_url
    )
    assert [d.blocks for d in first.digests] == [d.blocks for d in again.digests]
    assert [d.text for d in first.digests] == [d.text for d in again.digests]
    rerun = render_manager_digests(
        sample.proposals(run_id="another-run"), sample.roster, run_url="http://x/runs/another-run"
    )
    assert [d.idempotency_key() for d in first.digests] == [
        d.idempotency_key() for d in rerun.digests
    ]
    changed = render_manager_digests(sample.proposals(n=8), sample.roster, run_url=sample.run_url)
    assert first.digests[0].idempotency_key() != changed.digests[0].idempotency_key()


def test_data_cannot_inject_slack_markup(sample):
    proposals = sample.proposals().with_columns(
        pl.lit("<!channel> Acme & Co <https://evil|click>").alias("account_name")
    )
    digest = render_manager_digests(proposals, sample.roster).digests[0]
    everything = digest.text + json.dumps(digest.blocks)
    assert "<!channel>" not in everything and "<https://evil" not in everything
    assert "&lt;!channel&gt; Acme &amp; Co" in everything


def test_only_open_proposals_are_offered(sample):
    proposals = pl.concat(
        [sample.proposals(n=3), sample.proposals(n=7, status="approved").slice(3)]
    )
    result = render_manager_digests(proposals, sample.roster)
    offered = {p for d in result.digests for p in d.proposal_ids}
    assert offered == set(sample.proposals(n=3)["proposal_id"])


def test_bad_inputs_name_the_problem(sample):
    with pytest.raises(ValueError, match="roster frame lacks column.*manager_email"):
        render_manager_digests(sample.proposals(), sample.roster.drop("manager_email"))
    with pytest.raises(ValueError, match="proposals frame lacks column.*reason"):
        render_manager_digests(sample.proposals().drop("reason"), sample.roster)
    with pytest.raises(ValueError, match="lists a rep more than once.*R1"):
        render_manager_digests(sample.proposals(), pl.concat([sample.roster, sample.roster[:1]]))
    mixed = pl.concat([sample.proposals(n=2), sample.proposals(n=2, run_id="other")])
    with pytest.raises(ValueError, match="mixes passes"):
        render_manager_digests(mixed, sample.roster)
    with pytest.raises(ValueError, match="KPI #0 needs keys"):
        render_revops_summary(sample.proposals(), channel="#r", kpis=[{"name": "x"}])


def test_revops_summary_reports_kpis_exceptions_and_unrouted(sample):
    proposals = sample.proposals()
    routed = render_manager_digests(proposals, sample.roster)
    summary = render_revops_summary(
        proposals,
        channel="C0REVOPS",
        kpis=[
            {"label": "Potential spread (max/min)", "before": 1.42, "after": 1.08},
            {"label": "Mean travel", "before": 118.0, "after": 96.5, "unit": "km"},
            {"label": "Largest book", "before": 1_650_000, "after": 1_210_000, "unit": "$"},
        ],
        out_of_band=[
            {
                "rep_id": "R5",
                "rep_name": "Eve Stone",
                "potential": 1.5e6,
                "target": 1.2e6,
                "reason": "locked accounts",
            }
        ],
        drift_flags=[
            {"flag": "potential drift", "message": "3 reps moved >10%", "severity": "warning"}
        ],
        appeals=[
            {
                "proposal_id": "P-1",
                "account_name": "Acme",
                "appealed_by": "Ben Lee",
                "reason": "I closed a deal there last week",
            }
        ],
        unrouted=routed.unrouted,
        run_url=sample.run_url,
    )
    check_limits(summary)
    body = json.dumps(summary.blocks, ensure_ascii=False)
    assert summary.recipient.channel == "C0REVOPS"
    assert "Potential spread (max/min): 1.42 → 1.08" in body
    assert "Largest book: $1.65M → $1.21M" in body
    assert "*Eve Stone* $1.50M vs target $1.20M (+25%) — locked accounts" in body
    assert "3 reps moved &gt;10%" in body
    assert "appealed by Ben Lee: I closed a deal there last week" in body
    assert "Gus Hale → Finn Ode" in body
    assert "7 proposed changes" in summary.text and "1 open appeal," in summary.text


def test_summary_shows_shares_as_percentages(sample):
    record = {
        "kpis_before": {"share_in_band": 0.19, "potential_cv": 0.412, "active_owned_share": 0.9},
        "kpis_after": {"share_in_band": 1.0, "potential_cv": 0.081, "active_owned_share": 0.996},
    }
    summary = render_revops_summary(
        sample.proposals(), channel="#revops", kpis=run_kpis(record), run_url=sample.run_url
    )
    body = json.dumps(summary.blocks, ensure_ascii=False)
    for shown in (summary.text, body):
        assert "reps in band: 19% → 100%" in shown
        assert "potential with an active owner: 90% → 100%" in shown
        assert "potential CV (target &lt; 0.10): 0.41 → 0.08" in shown


def test_empty_pass_summary_needs_the_pass(sample):
    empty = sample.proposals(n=0)
    assert render_manager_digests(empty, sample.roster).digests == ()
    summary = render_revops_summary(
        empty, channel="#r", snapshot_date=sample.snapshot, pass_kind="micro"
    )
    assert "0 proposed changes" in summary.text


def test_text_helpers_never_cut_mid_sentence():
    text = "First sentence is here. Second sentence is much longer than the limit allows."
    assert shorten(text, 40) == "First sentence is here."
    assert shorten("one two three four five six", 12) == "one two…"
    lines = [f"line {i} is a complete item." for i in range(100)]
    fitted = fit_lines(lines, 200)
    assert len(fitted) <= 200
    kept = fitted.splitlines()
    assert kept[:-1] == lines[: len(kept) - 1]
    assert kept[-1] == f"…and {100 - len(kept) + 1} more — see the run"
