"""Digests per level: one roll-up per director / VP per pass, RevOps one per top region.

A hand-built three-level organisation (reps → first-line managers → directors), the real
outbox on DuckDB and the Slack stand-in on loopback.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import polars as pl
import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.model import (
    ACTION_APPROVE,
    ACTION_APPROVE_ALL,
    ACTION_REJECT,
    MANAGER_DIGEST,
    REGION_ROLLUP,
    ROLLUP_DIGEST,
)
from territory_ops.notify.notify_pass import notify_pass
from territory_ops.notify.outbox import latest_digest, outbox_frame
from territory_ops.notify.preview import digest_markdown
from territory_ops.notify.rollup_digests import (
    balance_line,
    render_rollup_digests,
    senior_managers,
    top_regions,
)
from territory_ops.notify.sender import OutboxDigestSender, SlackDigestSender
from territory_ops.org import OrgChart
from territory_ops.planning.rollup import rep_books_before_after, rollup_by_node
from territory_ops.writeback.proposal_rows import proposal_id, proposals_frame
from tests.notify.block_limits import all_texts, check_limits

SNAPSHOT = date(2026, 11, 1)
RUN_ID = "run-3-levels"
RUN_URL = "http://dagster.example.com/runs/run-3-levels"

# (user id, name, manager, role, e-mail, Slack id)
USERS = [
    ("D1", "Dana West", None, "manager", "dana.west@example.com", "U0DANA"),
    ("D2", "Hugo East", None, "manager", "hugo.east@example.com", None),
    ("M1", "Maria Chen", "D1", "manager", "maria.chen@example.com", "U0MARIA"),
    ("M2", "Omar Haddad", "D1", "manager", "omar.haddad@example.com", "U0OMAR"),
    ("M3", "Lena Berg", "D1", "manager", "lena.berg@example.com", "U0LENA"),
    ("M4", "Ines Roth", "D2", "manager", "ines.roth@example.com", "U0INES"),
    ("R1", "Ana Ruiz", "M1", "rep", None, None),
    ("R2", "Ben Lee", "M1", "rep", None, None),
    ("R3", "Cara Diaz", "M1", "rep", None, None),
    ("R4", "Dev Patel", "M2", "rep", None, None),
    ("R5", "Eve Stone", "M2", "rep", None, None),
    ("R6", "Finn Ode", "M3", "rep", None, None),
    ("R7", "Gus Hale", "M4", "rep", None, None),
    ("R8", "Hana Ito", "M4", "rep", None, None),
]

# (from, to, reason): what each kind of move means for the directors
MOVES = [
    ("R2", "R1", "balance"),  # within Maria's team: Maria decides
    ("R4", "R3", "balance"),  # Omar's team -> Maria's: both under Dana, waits for Dana
    ("R5", "R6", "travel"),  # Omar's team -> Lena's: waits for Dana
    ("R7", "R2", "balance"),  # Ines (Hugo's region) -> Maria (Dana's): out of / into a region
    (None, "R8", "new"),  # a new account into Hugo's region
    ("R1", "R7", "balance"),  # Dana's region -> Hugo's
]


def chart(users=USERS) -> OrgChart:
    return OrgChart.from_rows(
        {
            "user_id": u,
            "user_name": n,
            "manager_id": m,
            "sales_role": role,
            "email": e,
            "slack_user_id": s,
        }
        for u, n, m, role, e, s in users
    )


def roster(users=USERS) -> pl.DataFrame:
    """The first-line digest roster: each rep with its manager's contact."""
    people = {u: (n, e, s) for u, n, _, _, e, s in users}
    return pl.DataFrame(
        [
            {
                "rep_id": u,
                "rep_name": n,
                "manager_id": m,
                "manager_name": people[m][0],
                "manager_email": people[m][1],
                "manager_slack_user_id": people[m][2],
            }
            for u, n, m, role, _, _ in users
            if role == "rep"
        ]
    )


def proposals(moves=MOVES, users=USERS, run_id=RUN_ID) -> pl.DataFrame:
    names = {u: n for u, n, *_ in users}
    rows = []
    for i, (frm, to, code) in enumerate(moves):
        account = f"001B{i:06d}"
        rows.append(
            {
                "proposal_id": proposal_id(SNAPSHOT, "full", account, frm, to),
                "run_id": run_id,
                "pass_kind": "full",
                "snapshot_date": SNAPSHOT,
                "created_at": datetime(2026, 11, 1, 6, 0),
                "account_id": account,
                "account_name": f"Contoso Labs {i}",
                "from_rep_id": frm,
                "from_rep_name": names.get(frm or ""),
                "to_rep_id": to,
                "to_rep_name": names[to],
                "reason_code": code,
                "reason": f"Brings {names[to]} toward the balance band.",
                "potential": 200_000.0 - i * 1_000,
                "workload_hours": 40.0,
                "from_potential_before": None if frm is None else 1_200_000.0,
                "from_potential_after": None if frm is None else 1_000_000.0,
                "to_potential_before": 900_000.0,
                "to_potential_after": 1_100_000.0,
                "from_workload_before": None if frm is None else 1_400.0,
                "from_workload_after": None if frm is None else 1_360.0,
                "to_workload_before": 1_180.0,
                "to_workload_after": 1_220.0,
                "is_temporary": False,
                "temporary_until": None,
                "status": "open",
                "superseded_by_run_id": None,
            }
        )
    return proposals_frame(rows)


def rollup(users=USERS) -> pl.DataFrame:
    """The plan's roll-up per node from real books: today (CRM) and in a plan."""
    reps = pl.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(1, 9)],
            "active": [True] * 8,
            "capacity_hours": [1_500.0] * 8,
            "target_weight": [1.0] * 8,
        }
    )
    # 16 accounts of $100k; today R1 holds four, R7 none; the plan gives everyone two
    owners_now = ["R1"] * 4 + ["R2", "R2", "R3", "R3", "R4", "R4", "R5", "R5", "R6", "R6"]
    owners_now += ["R8", "R8"]
    accounts = pl.DataFrame(
        {
            "account_id": [f"A{i:02d}" for i in range(16)],
            "potential": [100_000.0] * 16,
            "workload_hours": [50.0] * 16,
            "current_rep_id": owners_now,
        }
    )
    plan = pl.DataFrame(
        {"account_id": accounts["account_id"], "rep_id": [f"R{1 + i // 2}" for i in range(16)]}
    )
    before, after = rep_books_before_after(accounts, reps, plan, 0.1)
    return rollup_by_node(chart(users), before, after)


def _by(digests, kind):
    return {d.recipient.key: d for d in digests if d.kind == kind}


def test_the_org_as_the_digests_see_it():
    org = chart()
    assert senior_managers(org) == ("D1", "D2")
    assert top_regions(org) == ("D1", "D2")
    # a flat organisation (first-line managers at the top) has no roll-up and no region
    flat = chart([u for u in USERS if u[0] not in ("D1", "D2")])
    assert senior_managers(flat) == () and top_regions(flat) == ()


def test_a_teams_balance_reads_from_the_roll_up():
    # Maria's team: 4+2+2 accounts today, 2+2+2 planned; a target of two each
    maria = rollup().filter(pl.col("node_id") == "M1").row(0, named=True)
    assert balance_line(maria) == (
        "2 → 3 of 3 reps in band · potential 133% → 100% of target ($800k → $600k vs $600k)"
    )


def test_a_director_gets_one_roll_up_naming_their_teams():
    props = proposals()
    ids = dict(zip([(f, t) for f, t, _ in MOVES], props["proposal_id"], strict=True))
    result = render_rollup_digests(
        props, chart(), rollup=rollup(), revops_channel="C0REVOPS", run_url=RUN_URL
    )
    rollups = _by(result.digests, ROLLUP_DIGEST)
    assert sorted(rollups) == ["manager:D1", "manager:D2"]
    assert len(result.digests) == 4  # two directors + one RevOps roll-up per top region
    dana = rollups["manager:D1"]
    assert dana.recipient.slack_user_id == "U0DANA"
    assert dana.recipient.email == "dana.west@example.com"
    text = json.dumps(dana.blocks, ensure_ascii=False)
    for team in ("Maria Chen's team", "Omar Haddad's team", "Lena Berg's team"):
        assert team in text
    assert "Ines Roth" not in dana.blocks[2]["text"]["text"]  # Hugo's team is not hers
    # the moves between two of her teams wait for her, with the digest's buttons
    waiting = {ids[("R4", "R3")], ids[("R5", "R6")]}
    assert set(dana.proposal_ids) == waiting
    actions = {b["block_id"]: b for b in dana.blocks if b["type"] == "actions"}
    for pid in waiting:
        kinds = [e["action_id"] for e in actions[f"decide:{pid}"]["elements"]]
        assert kinds[:2] == [ACTION_APPROVE, ACTION_REJECT]
        assert all(e.get("value") in (pid, None) for e in actions[f"decide:{pid}"]["elements"])
    approve_all = actions["team:D1"]["elements"][0]
    assert approve_all["action_id"] == ACTION_APPROVE_ALL
    assert set(json.loads(approve_all["value"])["proposal_ids"]) == waiting
    assert approve_all["text"]["text"] == "Approve all 2 between my teams"
    # in and out of her region, with the team on each side
    opening = dana.blocks[2]["text"]["text"]
    assert "*5 proposed changes* touch your region (3 teams: " in opening
    assert "*2 between your teams waiting for you*, 1 within a team" in opening
    assert "1 into your region, 1 out of your region." in opening
    moves_in = next(t for _, t in all_texts(dana.blocks) if t.startswith("*Moves into"))
    assert "Gus Hale (Ines Roth's team) → Ben Lee (Maria Chen's team)" in moves_in
    moves_out = next(t for _, t in all_texts(dana.blocks) if t.startswith("*Moves out"))
    assert "Ana Ruiz (Maria Chen's team) → Gus Hale (Ines Roth's team)" in moves_out
    balance = next(t for _, t in all_texts(dana.blocks) if t.startswith("*Balance per team"))
    assert "• *Maria Chen's team*: 2 → 3 of 3 reps in band" in balance
    assert RUN_URL in dana.text
    check_limits(dana, text_limit=3000)

    hugo = rollups["manager:D2"]
    assert hugo.proposal_ids == ()  # one team: nothing between teams
    (links,) = [b for b in hugo.blocks if b["type"] == "actions"]  # no "approve all"
    assert [e["action_id"] for e in links["elements"]] == ["open_run"]
    assert "No move between your teams waits for you this pass." in json.dumps(hugo.blocks)
    assert "unassigned → Hana Ito (Ines Roth's team)" in json.dumps(hugo.blocks, ensure_ascii=False)
    assert hugo.blocks[0]["text"]["text"] == "Your region: 3 proposed changes"
    check_limits(hugo, text_limit=3000)


def test_revops_gets_a_roll_up_per_top_region_without_buttons():
    result = render_rollup_digests(proposals(), chart(), rollup=rollup(), revops_channel="C0REVOPS")
    regions = _by(result.digests, REGION_ROLLUP)
    assert sorted(regions) == ["channel:C0REVOPS:region:D1", "channel:C0REVOPS:region:D2"]
    west = regions["channel:C0REVOPS:region:D1"]
    assert west.recipient.channel == "C0REVOPS"
    assert not [b for b in west.blocks if b["type"] == "actions"]
    assert west.proposal_ids == ()
    between = next(t for _, t in all_texts(west.blocks) if t.startswith("*Moves between"))
    assert between.count("Dana West decides (or both team managers)") == 2
    assert "waiting for Dana West" in west.blocks[2]["text"]["text"]
    check_limits(west, text_limit=3000)
    # without a channel: no region roll-ups
    plain = render_rollup_digests(proposals(), chart())
    assert {d.kind for d in plain.digests} == {ROLLUP_DIGEST}


def test_a_vp_sees_their_directors_regions_and_decides_across_them():
    users = [("V1", "Vera Stark", None, "manager", "vera@example.com", None)] + [
        (u, n, "V1" if u in ("D1", "D2") else m, r, e, s) for u, n, m, r, e, s in USERS
    ]
    props = proposals(users=users)
    result = render_rollup_digests(props, chart(users), rollup=rollup(users), revops_channel="C0")
    rollups = _by(result.digests, ROLLUP_DIGEST)
    assert sorted(rollups) == ["manager:D1", "manager:D2", "manager:V1"]
    vera = rollups["manager:V1"]
    balance = next(t for _, t in all_texts(vera.blocks) if t.startswith("*Balance per team"))
    assert "• *Dana West's region (3 teams)*" in balance
    assert "• *Hugo East's region (1 team)*" in balance
    # the moves between Dana's and Hugo's regions wait for Vera, their lowest common manager
    crossing = props.filter(pl.col("from_rep_id").is_in(["R7", "R1"]))
    assert set(vera.proposal_ids) == set(crossing["proposal_id"])
    assert sorted(_by(result.digests, REGION_ROLLUP)) == ["channel:C0:region:V1"]


def test_each_director_is_notified_once_per_pass_through_the_outbox(tmp_path, fake_slack):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sender = SlackDigestSender("xoxb-test-token-3-levels", fake_slack.url, backoff_factor=0.01)
    fake_slack.token = "xoxb-test-token-3-levels"
    fake_slack.users["hugo.east@example.com"] = "U0HUGO"

    def run(run_id: str):
        return notify_pass(
            con,
            proposals(run_id=run_id),
            roster(),
            sender,
            revops_channel="C0REVOPS",
            run_url=f"http://dagster.example.com/runs/{run_id}",
            snapshot_date=SNAPSHOT,
            pass_kind="full",
            chart=chart(),
            rollup=rollup(),
        )

    first = run(RUN_ID)
    meta = first.as_metadata()
    # four first-line digests, two director roll-ups, two region roll-ups, the summary
    assert (meta["digests rendered"], meta["sent"], meta["errors"]) == (9, 9, "none")
    assert meta["roll-up digests (directors, VPs, regions)"] == 4
    # the run's preview shows one of each kind first: a team's digest, a director's roll-up
    assert "### 4 proposed territory changes for your team" in meta["preview"]  # Maria
    assert "### Your region: " in meta["preview"]
    posts = fake_slack.posts()
    to_dana = [p for p in posts if p["channel"] == "DU0DANA"]
    to_hugo = [p for p in posts if p["channel"] == "DU0HUGO"]
    assert len(to_dana) == 1 and len(to_hugo) == 1
    assert "Maria Chen's team" in json.dumps(to_dana[0]["blocks"])
    assert len([p for p in posts if p["channel"] == "C0REVOPS"]) == 3  # summary + 2 regions
    kinds = outbox_frame(con).group_by("kind").len().sort("kind").rows()
    assert kinds == [
        (MANAGER_DIGEST, 4),
        (REGION_ROLLUP, 2),
        ("revops_summary", 1),
        (ROLLUP_DIGEST, 2),
    ]

    # what the demo prints: a director's roll-up read back from the outbox as it was sent
    sent = latest_digest(con, ROLLUP_DIGEST)
    assert sent is not None and sent.recipient.key in ("manager:D1", "manager:D2")
    assert [p for p in posts if p["text"] == sent.text][0]["blocks"] == list(sent.blocks)
    assert latest_digest(con, "no_such_kind") is None

    # the same pass again (a retried step, a re-executed run): nothing is posted twice
    again = run("run-3-levels-retry").as_metadata()
    assert (again["digests new this pass"], again["sent"]) == (0, 0)
    assert again["digests already recorded (not posted again)"] == 9
    assert len(fake_slack.posts()) == len(posts)
    con.close()


def test_a_director_without_contact_is_reported_not_dropped():
    users = [
        (u, n, m, r, None if u == "D2" else e, None if u == "D2" else s)
        for u, n, m, r, e, s in USERS
    ]
    result = render_rollup_digests(proposals(users=users), chart(users), revops_channel="C0")
    assert result.unreachable == ("D2",)
    assert sorted(_by(result.digests, ROLLUP_DIGEST)) == ["manager:D1"]
    # RevOps still sees Hugo's region
    assert "channel:C0:region:D2" in _by(result.digests, REGION_ROLLUP)


def test_nothing_in_a_region_means_no_roll_up():
    only_hugo = [(None, "R8", "new")]
    result = render_rollup_digests(proposals(only_hugo), chart())
    assert sorted(_by(result.digests, ROLLUP_DIGEST)) == ["manager:D2"]
    # an open appeal alone touches a region
    appeal = {
        "proposal_id": "P-x",
        "account_name": "Fabrikam",
        "appealed_by": "Ana Ruiz",
        "from_rep_id": "R1",
        "to_rep_id": "R2",
    }
    result = render_rollup_digests(proposals(only_hugo), chart(), appeals=[appeal])
    dana = _by(result.digests, ROLLUP_DIGEST)["manager:D1"]
    assert "Fabrikam (`P-x`), appealed by Ana Ruiz" in json.dumps(dana.blocks)
    assert "1 open appeal" in dana.blocks[2]["text"]["text"]


def test_first_line_digests_are_unchanged_by_the_hierarchy():
    result = render_manager_digests(proposals(), roster())
    assert sorted(d.recipient.key for d in result.digests) == [
        "manager:M1",
        "manager:M2",
        "manager:M3",
        "manager:M4",
    ]


def _big_org(teams: int, reps_per_team: int) -> list[tuple]:
    users = [("VP", "Vera Stark", None, "manager", "vera@example.com", "U0VERA")]
    for d in range(3):
        users.append((f"D{d}", f"Director {d} & <Co>", "VP", "manager", f"d{d}@example.com", None))
    for t in range(teams):
        users.append(
            (
                f"M{t:03d}",
                f"Manager {t} " + "x" * 40,
                f"D{t % 3}",
                "manager",
                f"m{t}@example.com",
                None,
            )
        )
        for r in range(reps_per_team):
            users.append(
                (f"R{t:03d}{r:02d}", f"Rep {t}-{r} " + "y" * 30, f"M{t:03d}", "rep", None, None)
            )
    return users


def test_block_kit_limits_hold_on_a_big_region():
    users = _big_org(teams=90, reps_per_team=8)
    reps = [u[0] for u in users if u[3] == "rep"]
    moves = [
        (reps[(7 * i) % len(reps)], reps[(13 * i + 5) % len(reps)], "balance") for i in range(1500)
    ]
    moves = [(f, t, c) for f, t, c in moves if f != t]
    props = proposals(moves, users).with_columns(
        reason=pl.lit("A long reason. " * 60), account_name=pl.lit("Acme <Holdings> & Sons " * 4)
    )
    managers = [u[0] for u in users if u[3] == "manager"]
    figures = pl.DataFrame(
        {
            "node_id": managers,
            "reps": [8] * len(managers),
            "in_band_before": [3] * len(managers),
            "in_band_after": [7] * len(managers),
            "potential_before": [8e6] * len(managers),
            "potential_after": [8.4e6] * len(managers),
            "target": [8.5e6] * len(managers),
        }
    )
    appeals = [
        {
            "proposal_id": pid,
            "account_name": "Appealed",
            "appealed_by": "rep",
            "reason": "no " * 50,
            "from_rep_id": reps[0],
            "to_rep_id": reps[1],
        }
        for pid in props["proposal_id"].head(200)
    ]
    result = render_rollup_digests(
        props, chart(users), rollup=figures, appeals=appeals, revops_channel="C0", run_url=RUN_URL
    )
    assert len(result.digests) == 5  # the VP, three directors, RevOps' one region
    for digest in result.digests:
        check_limits(digest, text_limit=3000)
        # names from data are escaped in mrkdwn (a header is plain text, shown as written)
        mrkdwn = " ".join(t for kind, t in all_texts(digest.blocks) if kind != "header")
        assert "<Co>" not in mrkdwn and "<Holdings>" not in mrkdwn
    assert "Director 0 &amp; &lt;Co&gt;'s region" in json.dumps(
        _by(result.digests, ROLLUP_DIGEST)["manager:VP"].blocks
    )
    vera = _by(result.digests, ROLLUP_DIGEST)["manager:VP"]
    shown = [b for b in vera.blocks if b.get("block_id", "").startswith("decide:")]
    assert 0 < len(shown) < len(vera.proposal_ids)  # the rest via "and N more" / approve all
    assert "more proposed changes" in json.dumps(vera.blocks)
    # an "approve all" too long for the button's value names the scope instead
    director = _by(result.digests, ROLLUP_DIGEST)["manager:D0"]
    assert len(director.proposal_ids) > 60
    value = json.loads(
        next(b for b in director.blocks if b.get("block_id") == "team:D0")["elements"][0]["value"]
    )
    assert value == {"manager_id": "D0", "run_id": RUN_ID}
    assert digest_markdown(director).startswith("**To:** Director 0 & <Co>")


@pytest.mark.parametrize("missing", ["target", "in_band_after"])
def test_a_roll_up_without_a_column_is_a_clear_error(missing):
    with pytest.raises(ValueError, match=f"roll-up frame lacks column.*{missing}"):
        render_rollup_digests(proposals(), chart(), rollup=rollup().drop(missing))


def test_the_demo_prints_a_directors_digest_only_when_there_is_one(tmp_path, monkeypatch):
    from scripts.demo_closed_loop import director_digest_preview

    db = tmp_path / "demo.duckdb"
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(db))
    con = duckdb.connect(str(db))
    sender = OutboxDigestSender(tmp_path / "outbox")
    flat = [u for u in USERS if u[0] not in ("D1", "D2")]
    notify_pass(
        con, proposals(users=flat), roster(flat), sender, revops_channel="C0", chart=chart(flat)
    )
    con.close()
    assert director_digest_preview() == ""  # a flat organisation: nothing to show

    con = duckdb.connect(str(db))
    notify_pass(
        con, proposals(), roster(), sender, revops_channel="C0", chart=chart(), rollup=rollup()
    )
    con.close()
    preview = director_digest_preview()
    assert "A director's digest" in preview
    assert "### Your region: " in preview and "Maria Chen's team" in preview
