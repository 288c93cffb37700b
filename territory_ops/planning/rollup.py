"""Roll-ups of a plan per node of the sales hierarchy: a team, a region, the whole organisation.

Every manager in the chart (``territory_ops.org.OrgChart``) gets one row summing the reps
under it at any depth: how many reps and accounts, potential against target, how many reps
sit in the band and how even the books are (potential CV), workload against capacity — each
today (the CRM's owners) and in the plan — plus the drift flags of its reps and accounts and
the proposals that touch it. A director's row is the sum of its teams, a VP's of its
directors, so a digest, ``territory-ops plan show --by manager|level N`` and the Dagster
metadata read the same figures.

The main entry points:

* :func:`rep_books_before_after`: per-rep books today and in a plan (``planning.kpis.rep_books``
  twice), the input of every roll-up;
* :func:`rollup_by_node` -> one row per node (:data:`ROLLUP_SCHEMA`), in tree order;
* :func:`team_balance`: the first-line teams (under a node, or all), each team's balance
  before -> after, for a second-line manager's digest;
* :func:`reps_under`, :func:`flags_under`, :func:`proposals_under`: a manager's slice of the
  drift flags and proposals (``territory-ops drift --under EMAIL``);
* :func:`rollup_lines` (a terminal table) and :func:`region_tables_markdown` (one markdown
  table per top-level region, for the Dagster UI);
* :func:`published_rollup`: all of the above read from the warehouse for the published plan
  (its proposals, the latest drift flags, ``marts.org_chart``).

A node's potential is every account its reps own — a departed or absent rep's too, until the
plan moves them — against the summed targets of its active reps; the band, the CV and the
utilisation are over its active reps, as in the team KPIs (``planning.kpis``).

Proposals are counted by status: ``open`` (waiting for a decision), ``waiting`` (open ones
this node may move on now: within one team its manager; between two teams each side's
manager until that side approved, or their lowest common manager alone; one level up after an
escalation — ``deciders``, from the decision rights, or without them the one manager who may
decide alone), ``appealed`` and ``approved``. Moves are the proposals that still stand
(not rejected, superseded or reverted): ``moves_in`` come from a rep outside the node (or
from no owner), ``moves_out`` go to a rep outside it, ``cross_team_moves`` (in, out or
within) join two different first-line teams.

Reps whose chain has no manager (or who are not in the chart at all) roll up to the
:data:`NO_MANAGER` node, so no rep's book goes uncounted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from territory_ops.formatting import money
from territory_ops.org import OrgChart
from territory_ops.planning import store
from territory_ops.planning.audit import open_round
from territory_ops.planning.config import load_pass_config, merge_pass_config
from territory_ops.planning.kpis import rep_books
from territory_ops.planning.org import load_org_chart
from territory_ops.planning.rights import deciders_now
from territory_ops.planning.status import ProposalStatus
from territory_ops.planning.tables import load_planning_input

NO_MANAGER = "(no manager)"

# who an open proposal (a plans.proposals row) waits for: org chart user ids
Deciders = Callable[[Mapping[str, Any]], Iterable[str]]

# proposals that no longer stand do not count as moves
_GONE = (ProposalStatus.REJECTED, ProposalStatus.SUPERSEDED, ProposalStatus.REVERTED)

ROLLUP_SCHEMA: dict[str, pl.DataType] = {
    "node_id": pl.String(),
    "node_name": pl.String(),
    "email": pl.String(),
    "title": pl.String(),  # the CRM's job title, when known
    "level": pl.Int64(),  # 1 = the top of the organisation
    "parent_id": pl.String(),
    "managers_above": pl.List(pl.String()),  # nearest first
    "region_id": pl.String(),  # the top-level node this node rolls up to
    "region_name": pl.String(),
    "region_title": pl.String(),
    "is_first_line": pl.Boolean(),  # reps report to it directly
    "teams": pl.Int64(),  # first-line teams at or under the node
    "reps": pl.Int64(),  # active reps under the node
    "inactive_reps": pl.Int64(),
    "accounts_before": pl.Int64(),
    "accounts_after": pl.Int64(),
    "potential_before": pl.Float64(),
    "potential_after": pl.Float64(),
    "target": pl.Float64(),  # the active reps' targets summed
    "pct_of_target_before": pl.Float64(),  # potential / target (1.0 = on target)
    "pct_of_target_after": pl.Float64(),
    "in_band_before": pl.Int64(),  # active reps within the band
    "in_band_after": pl.Int64(),
    "potential_cv_before": pl.Float64(),  # CV of the active reps' potential / target
    "potential_cv_after": pl.Float64(),
    "workload_hours_before": pl.Float64(),
    "workload_hours_after": pl.Float64(),
    "capacity_hours": pl.Float64(),
    "utilisation_before": pl.Float64(),  # active reps' workload / capacity
    "utilisation_after": pl.Float64(),
    "over_capacity_before": pl.Int64(),
    "over_capacity_after": pl.Int64(),
    "drift_flags": pl.Int64(),  # rep and account flags of the node's reps and their accounts
    "drift_rep_flags": pl.Int64(),
    "drift_account_flags": pl.Int64(),
    "proposals_open": pl.Int64(),
    "proposals_waiting": pl.Int64(),  # open, and this node may decide them (or its side) now
    "proposals_appealed": pl.Int64(),
    "proposals_approved": pl.Int64(),
    "moves_in": pl.Int64(),
    "moves_out": pl.Int64(),
    "moves_within": pl.Int64(),
    "cross_team_moves": pl.Int64(),
}


# --- inputs -----------------------------------------------------------------------------------


def rep_books_before_after(
    accounts: pl.DataFrame, reps: pl.DataFrame, plan: pl.DataFrame, tolerance: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-rep books today (``accounts.current_rep_id``) and in ``plan`` (account_id, rep_id),
    as :func:`territory_ops.planning.kpis.rep_books` computes them for the pass."""
    before = rep_books(accounts, reps, "current_rep_id", tolerance)
    planned = accounts.join(
        plan.select("account_id", _planned_rep_id="rep_id"), on="account_id", how="left"
    )
    after = rep_books(planned, reps, "_planned_rep_id", tolerance)
    return before, after


# --- who is under whom ------------------------------------------------------------------------


def _nodes_of_rep(chart: OrgChart, rep_id: str) -> tuple[str, ...]:
    """The managers a rep's book rolls up to, nearest first (NO_MANAGER when none)."""
    chain = chart.chain(rep_id) if rep_id in chart else ()
    return chain or (NO_MANAGER,)


def reps_under(chart: OrgChart, node_id: str, rep_ids: Iterable[str] | None = None) -> set[str]:
    """The users (of ``rep_ids``, or every user) at any depth under ``node_id``; a rep's own id
    (no one under it) gives that rep."""
    pool = set(rep_ids) if rep_ids is not None else set(chart.user_ids)
    if node_id == NO_MANAGER:
        return {r for r in pool if _nodes_of_rep(chart, r) == (NO_MANAGER,)}
    mine = set(chart.under(node_id)) or {node_id}
    return pool & mine


def _team_of(chart: OrgChart, rep_id: str | None) -> str | None:
    if rep_id is None:
        return None
    return _nodes_of_rep(chart, rep_id)[0]


def deciding_manager(chart: OrgChart, from_rep: str | None, to_rep: str | None) -> str | None:
    """Who may decide a move alone: the team's manager within a team, the two teams' lowest
    common manager between teams."""
    a, b = _team_of(chart, from_rep), _team_of(chart, to_rep)
    if a is None or b is None or a == b:
        return b or a
    if NO_MANAGER in (a, b):
        return None
    return chart.lowest_common_manager(a, b)


# --- the roll-up ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    node_id: str
    name: str
    email: str | None
    level: int
    above: tuple[str, ...]
    title: str | None = None


def _node_info(chart: OrgChart, node_id: str) -> _Node:
    if node_id == NO_MANAGER or node_id not in chart:
        return _Node(node_id, "reps without a manager", None, 1, ())
    node = chart.node(node_id)
    above = chart.chain(node_id)
    return _Node(node_id, node.label, node.email, len(above) + 1, above, node.title)


def _cv(values: np.ndarray) -> float:
    if len(values) == 0 or float(values.mean()) == 0:
        return 0.0
    return round(float(values.std() / values.mean()), 6)


def _book_figures(book: pl.DataFrame, suffix: str) -> dict[str, float | int]:
    act = book.filter(pl.col("active"))
    util = act.filter(pl.col("capacity_hours") > 0)
    over = int(
        (util["workload_hours"] > util["capacity_hours"] * (1 + 1e-9)).sum() if util.height else 0
    )
    return {
        f"accounts_{suffix}": int(book["accounts"].sum()),
        f"potential_{suffix}": float(book["potential"].sum()),
        f"in_band_{suffix}": int(act["in_band"].sum()),
        f"potential_cv_{suffix}": _cv(act["pct_of_target"].fill_null(0.0).to_numpy()),
        f"workload_hours_{suffix}": float(act["workload_hours"].sum()),
        f"over_capacity_{suffix}": over,
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 6) if b > 0 else None


def _order(chart: OrgChart, nodes: set[str]) -> list[str]:
    """Tree order: region by region, each node followed by its sub-tree, siblings by name."""

    def path(u: str) -> tuple[tuple[str, str], ...]:  # labels from the top down to u
        if u not in chart:
            return (("~", u),)
        return tuple((chart.node(a).label.lower(), a) for a in (*reversed(chart.chain(u)), u))

    out: list[str] = []

    def visit(u: str) -> None:
        out.append(u)
        for child in sorted((c for c in chart.reports(u) if c in nodes), key=path):
            visit(child)

    tops = [u for u in nodes if u not in chart or not any(a in nodes for a in chart.chain(u))]
    for top in sorted(tops, key=path):
        visit(top)
    return out + sorted(nodes - set(out))  # nodes inside a cycle


def _proposal_counts(
    chart: OrgChart,
    proposals: pl.DataFrame | None,
    members: Mapping[str, set[str]],
    deciders: Deciders | None = None,
) -> dict[str, dict[str, int]]:
    zero = dict.fromkeys(
        (
            "proposals_open",
            "proposals_waiting",
            "proposals_appealed",
            "proposals_approved",
            "moves_in",
            "moves_out",
            "moves_within",
            "cross_team_moves",
        ),
        0,
    )
    counts = {node: dict(zero) for node in members}
    if proposals is None or proposals.is_empty():
        return counts
    status_of = {
        ProposalStatus.OPEN: "proposals_open",
        ProposalStatus.APPEALED: "proposals_appealed",
        ProposalStatus.APPROVED: "proposals_approved",
    }
    for row in proposals.iter_rows(named=True):
        from_rep, to_rep, status = row["from_rep_id"], row["to_rep_id"], row["status"]
        src = set(_nodes_of_rep(chart, from_rep)) if from_rep else set()
        dst = set(_nodes_of_rep(chart, to_rep)) if to_rep else set()
        cross = _team_of(chart, from_rep) not in (None, _team_of(chart, to_rep))
        if status != ProposalStatus.OPEN:
            waiting_for: set[str] = set()
        elif deciders is not None:
            waiting_for = set(deciders(row))
        else:
            alone = deciding_manager(chart, from_rep, to_rep)
            waiting_for = {alone} if alone else set()
        for node in (src | dst) & counts.keys():
            c = counts[node]
            if status in status_of:
                c[status_of[status]] += 1
            if node in waiting_for:
                c["proposals_waiting"] += 1
            if status in _GONE:
                continue
            if node in src and node in dst:
                c["moves_within"] += 1
            elif node in dst:
                c["moves_in"] += 1
            else:
                c["moves_out"] += 1
            c["cross_team_moves"] += int(cross)
    return counts


def _flag_counts(
    chart: OrgChart,
    drift: pl.DataFrame | None,
    owners: pl.DataFrame | None,
    members: Mapping[str, set[str]],
) -> dict[str, tuple[int, int]]:
    counts = {node: (0, 0) for node in members}
    if drift is None or drift.is_empty():
        return counts
    owner_of: dict[str, str] = {}
    if owners is not None and not owners.is_empty():
        owner_of = {
            a: r
            for a, r in owners.select("account_id", "current_rep_id").iter_rows()
            if r is not None
        }
    for scope, subject in drift.select("scope", "subject_id").iter_rows():
        rep = subject if scope == "rep" else owner_of.get(subject) if scope == "account" else None
        if rep is None:
            continue
        for node in set(_nodes_of_rep(chart, rep)) & counts.keys():
            reps_, accounts_ = counts[node]
            counts[node] = (reps_ + (scope == "rep"), accounts_ + (scope == "account"))
    return counts


def rollup_by_node(
    chart: OrgChart,
    before: pl.DataFrame,
    after: pl.DataFrame | None = None,
    *,
    proposals: pl.DataFrame | None = None,
    drift: pl.DataFrame | None = None,
    owners: pl.DataFrame | None = None,
    level: int | None = None,
    deciders: Deciders | None = None,
) -> pl.DataFrame:
    """One row per manager node (at any depth) with reps under it, in tree order
    (:data:`ROLLUP_SCHEMA`).

    ``before`` / ``after``: per-rep books today and in the plan (:func:`rep_books_before_after`;
    without ``after`` the plan columns repeat today's). ``proposals``: ``plans.proposals`` rows
    (from_rep_id, to_rep_id, status). ``drift``: ``plans.drift_flags`` rows; account flags are
    placed with the account's owner in ``owners`` (account_id, current_rep_id). ``level``: only
    the nodes at that level (1 = top). ``deciders``: who an open proposal (a row) waits for;
    by default :func:`deciding_manager`, the one manager who may decide it alone.
    """
    after = before if after is None else after
    members: dict[str, set[str]] = {}
    for rep in before["rep_id"].to_list():
        for node in _nodes_of_rep(chart, rep):
            members.setdefault(node, set()).add(rep)
    if level is not None:
        members = {n: m for n, m in members.items() if _node_info(chart, n).level == level}
    first_line = {_nodes_of_rep(chart, r)[0] for r in before["rep_id"].to_list()}  # team leads
    proposal_counts = _proposal_counts(chart, proposals, members, deciders)
    flag_counts = _flag_counts(chart, drift, owners, members)
    rows = []
    for node_id in _order(chart, set(members)):
        info = _node_info(chart, node_id)
        region = info.above[-1] if info.above else node_id
        mine = sorted(members[node_id])
        book = before.filter(pl.col("rep_id").is_in(mine))
        planned = after.filter(pl.col("rep_id").is_in(mine))
        act = book.filter(pl.col("active"))
        target = float(act["target"].sum())
        capacity = float(act["capacity_hours"].sum())
        figures = _book_figures(book, "before") | _book_figures(planned, "after")
        rep_flags, account_flags = flag_counts[node_id]
        teams = {t for t in first_line if t == node_id or _is_below(chart, t, node_id)}
        rows.append(
            {
                "node_id": node_id,
                "node_name": info.name,
                "email": info.email,
                "title": info.title,
                "level": info.level,
                "parent_id": info.above[0] if info.above else None,
                "managers_above": list(info.above),
                "region_id": region,
                "region_name": _node_info(chart, region).name,
                "region_title": _node_info(chart, region).title,
                "is_first_line": node_id in first_line,
                "teams": len(teams),
                "reps": act.height,
                "inactive_reps": book.height - act.height,
                **figures,
                "target": target,
                "pct_of_target_before": _ratio(figures["potential_before"], target),
                "pct_of_target_after": _ratio(figures["potential_after"], target),
                "capacity_hours": capacity,
                "utilisation_before": _ratio(figures["workload_hours_before"], capacity),
                "utilisation_after": _ratio(figures["workload_hours_after"], capacity),
                "drift_flags": rep_flags + account_flags,
                "drift_rep_flags": rep_flags,
                "drift_account_flags": account_flags,
                **proposal_counts[node_id],
            }
        )
    return pl.DataFrame(rows, schema=ROLLUP_SCHEMA)


def _is_below(chart: OrgChart, node: str, manager: str) -> bool:
    return node != NO_MANAGER and node in chart and chart.is_under(node, manager)


def team_balance(rollup: pl.DataFrame, under: str | None = None) -> pl.DataFrame:
    """The first-line teams of a roll-up (those under ``under`` at any depth, or all), each
    team's balance before -> after: reps, in band, potential CV, % of target, utilisation."""
    teams = rollup.filter(pl.col("is_first_line"))
    if under is not None:
        teams = teams.filter(
            (pl.col("node_id") == under) | pl.col("managers_above").list.contains(under)
        )
    return teams.select(
        "node_id",
        "node_name",
        "email",
        "region_id",
        "region_name",
        "reps",
        "in_band_before",
        "in_band_after",
        "potential_cv_before",
        "potential_cv_after",
        "pct_of_target_before",
        "pct_of_target_after",
        "utilisation_before",
        "utilisation_after",
        "moves_in",
        "moves_out",
        "cross_team_moves",
        "proposals_waiting",
    )


# --- a manager's slice ------------------------------------------------------------------------


def proposals_under(chart: OrgChart, node_id: str, proposals: pl.DataFrame) -> pl.DataFrame:
    """Proposals whose giving or receiving rep is under ``node_id``."""
    if proposals.is_empty():
        return proposals
    mine = list(
        reps_under(
            chart,
            node_id,
            {r for c in ("from_rep_id", "to_rep_id") for r in proposals[c].drop_nulls()},
        )
    )
    return proposals.filter(pl.col("from_rep_id").is_in(mine) | pl.col("to_rep_id").is_in(mine))


def flags_under(
    chart: OrgChart, node_id: str, flags: pl.DataFrame, owners: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Drift flags of the reps under ``node_id`` and of the accounts they own (``owners``:
    account_id, current_rep_id); team-wide flags are the whole organisation's, not a node's."""
    if flags.is_empty():
        return flags
    owner_of = (
        owners.select("account_id", "current_rep_id")
        if owners is not None
        else pl.DataFrame(schema={"account_id": pl.String, "current_rep_id": pl.String})
    )
    with_rep = flags.join(owner_of, left_on="subject_id", right_on="account_id", how="left")
    rep = (
        pl.when(pl.col("scope") == "rep")
        .then(pl.col("subject_id"))
        .when(pl.col("scope") == "account")
        .then(pl.col("current_rep_id"))
    )
    candidates = set(with_rep.select(rep.alias("r"))["r"].drop_nulls().to_list())
    mine = list(reps_under(chart, node_id, candidates))
    return with_rep.filter(rep.is_in(mine)).select(flags.columns)


# --- readable forms ---------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _cv_text(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _cells(r: Mapping[str, object], indent: bool) -> list[str]:
    pad = "  " * (int(r["level"]) - 1) if indent else ""  # type: ignore[call-overload]
    return [
        f"{pad}{r['node_name']}",
        str(r["level"]),
        str(r["teams"]),
        str(r["reps"]),
        f"{r['accounts_before']} → {r['accounts_after']}",
        money(float(r["potential_after"])),  # type: ignore[arg-type]
        f"{_pct(r['pct_of_target_before'])} → {_pct(r['pct_of_target_after'])}",  # type: ignore[arg-type]
        f"{r['in_band_before']} → {r['in_band_after']} of {r['reps']}",
        f"{_cv_text(r['potential_cv_before'])} → {_cv_text(r['potential_cv_after'])}",  # type: ignore[arg-type]
        f"{_pct(r['utilisation_before'])} → {_pct(r['utilisation_after'])}",  # type: ignore[arg-type]
        str(r["drift_flags"]),
        f"{r['proposals_open']}/{r['proposals_waiting']}/{r['proposals_approved']}",
        f"{r['moves_in']}/{r['moves_out']}",
        str(r["cross_team_moves"]),
    ]


HEADERS = (
    "node",
    "level",
    "teams",
    "reps",
    "accounts",
    "potential",
    "% of target",
    "in band",
    "potential CV",
    "utilisation",
    "drift",
    "open/waiting/approved",
    "moves in/out",
    "cross-team",
)


def rollup_lines(rollup: pl.DataFrame, indent: bool = True) -> list[str]:
    """A terminal table, one line per node, today → plan; sub-nodes indented by level."""
    if rollup.is_empty():
        return ["No reps under any manager."]
    table = [list(HEADERS)] + [_cells(r, indent) for r in rollup.iter_rows(named=True)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = []
    for k, row in enumerate(table):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def region_tables_markdown(
    rollup: pl.DataFrame, limit: int = 30, regions: int = 12, *, with_proposals: bool = True
) -> str:
    """One markdown table per top-level region (the first ``regions`` of them): its own row
    first, then every node under it, today → plan. ``with_proposals=False`` leaves out the
    proposal and move columns (a drift report comes before the proposals)."""
    if rollup.is_empty():
        return "No reps under any manager."
    keep = len(HEADERS) if with_proposals else HEADERS.index("open/waiting/approved")
    parts: list[str] = []
    tops = rollup["region_id"].unique(maintain_order=True).to_list()
    for region in tops[:regions]:
        rows = rollup.filter(pl.col("region_id") == region)
        name, title = rows["region_name"][0], rows["region_title"][0]
        parts += [
            f"#### {name}" + (f" — {title}" if title else ""),
            "",
            "| " + " | ".join(HEADERS[:keep]) + " |",
            "|---|" + "---:|" * (keep - 1),
        ]
        for r in rows.head(limit).iter_rows(named=True):
            cells = _cells(r, indent=False)[:keep]
            cells[0] = ("→ " * (int(r["level"]) - rows["level"].min())) + cells[0]
            parts.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        if rows.height > limit:
            parts.append(f"| … {rows.height - limit} more | " + "| " * (keep - 1))
        parts.append("")
    if len(tops) > regions:
        parts.append(
            f"… and {len(tops) - regions} more top-level region(s): "
            "`territory-ops plan show --by level 1`."
        )
    return "\n".join(parts).rstrip()


# --- the published plan, read from the warehouse ---------------------------------------------


@dataclass(frozen=True)
class PlanRollup:
    """The published plan rolled up: the run, the chart, the nodes and what they were built of."""

    run: dict
    chart: OrgChart
    nodes: pl.DataFrame  # rollup_by_node
    proposals: pl.DataFrame  # the published run's proposals, every status
    flags: pl.DataFrame  # the newest drift report's flags
    owners: pl.DataFrame  # account_id, current_rep_id (today's CRM)


def published_rollup(con: duckdb.DuckDBPyConnection, level: int | None = None) -> PlanRollup | None:
    """The published plan per node (today's books from the marts, the plan's assignments, its
    proposals, the newest drift flags); None before the first published plan."""
    run = store.published_run(con)
    if run is None:
        return None
    config = merge_pass_config(load_pass_config(), dict(run.get("config") or {}))
    data = load_planning_input(con)
    before, after = rep_books_before_after(
        data.accounts, data.reps, store.assignments(con, run["run_id"]), config.tolerance
    )
    proposals = store.proposals(con)
    if not proposals.is_empty():
        proposals = proposals.filter(pl.col("run_id") == run["run_id"])
    drift_run = store.latest_drift_run(con)
    flags = store.drift_flags(con, drift_run) if drift_run else pl.DataFrame()
    owners = data.accounts.select("account_id", "current_rep_id")
    chart = load_org_chart(con)
    nodes = rollup_by_node(
        chart,
        before,
        after,
        proposals=proposals,
        drift=flags,
        owners=owners,
        level=level,
        deciders=rights_deciders(con, chart, proposals),
    )
    return PlanRollup(run, chart, nodes, proposals, flags, owners)


def rights_deciders(
    con: duckdb.DuckDBPyConnection, chart: OrgChart, proposals: pl.DataFrame
) -> Deciders:
    """Who each open proposal waits for under the decision rights (planning/rights.py): both
    sides of a move between teams until each approved, escalations one level up, or their
    lowest common manager — what "waiting" counts in a roll-up."""
    ids = proposals["proposal_id"].to_list() if "proposal_id" in proposals.columns else []
    rounds = open_round(con, ids) if ids else {}
    return lambda row: deciders_now(chart, row, rounds.get(row.get("proposal_id"), ()))


def under_lines(rolled: PlanRollup, node_id: str, limit: int = 30) -> list[str]:
    """A manager's slice for a terminal: their sub-tree's roll-up, the drift flags of their
    reps and accounts, and the published plan's proposals touching them."""
    chart = rolled.chart
    node = chart.node(node_id)
    who = (
        f"{node.label}" + (f", {node.title}" if node.title else "") + f" ({node.email or node_id})"
    )
    nodes = rolled.nodes.filter(
        (pl.col("node_id") == node_id) | pl.col("managers_above").list.contains(node_id)
    )
    flags = flags_under(chart, node_id, rolled.flags, rolled.owners)
    props = proposals_under(chart, node_id, rolled.proposals)
    run = rolled.run
    lines = [
        f"Under {who}, level {chart.level(node_id)}: published {run['pass_kind']} pass "
        f"{run['run_id'][:8]} on snapshot {run['snapshot_date']}."
    ]
    if nodes.height:
        lines += ["", *rollup_lines(nodes)]
    if flags.is_empty():
        lines += ["", "Drift flags: none."]
    else:
        kinds = flags.group_by("flag").len().sort(["len", "flag"], descending=[True, False])
        lines += [
            "",
            f"Drift flags ({flags.height}: "
            + ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in kinds.iter_rows())
            + "):",
        ]
    for r in _by_urgency(flags).head(limit).iter_rows(named=True):
        lines.append(f"  [{r['scope']}] {r['detail']}")
    if flags.height > limit:
        lines.append(f"  … and {flags.height - limit} more")
    if props.is_empty():
        return [*lines, "Proposals of the published plan: none."]
    counts = props.group_by("status").len().sort("status")
    waiting = sum(
        deciding_manager(chart, f, t) == node_id
        for f, t, s in props.select("from_rep_id", "to_rep_id", "status").iter_rows()
        if s == ProposalStatus.OPEN
    )
    lines.append(
        f"Proposals of the published plan ({props.height}: "
        + ", ".join(f"{n} {s}" for s, n in counts.iter_rows())
        + f"; {waiting} open for {node.label} to decide):"
    )
    ordered = props.sort(["status", "potential", "proposal_id"], descending=[False, True, False])
    for r in ordered.head(limit).iter_rows(named=True):
        source = _rep_label(chart, r["from_rep_id"], r.get("from_rep_name"))
        target = _rep_label(chart, r["to_rep_id"], r.get("to_rep_name"))
        decider = deciding_manager(chart, r["from_rep_id"], r["to_rep_id"])
        decides = (
            f", decided by {chart.node(decider).label}"
            if decider in chart and r["status"] == ProposalStatus.OPEN
            else ""
        )
        cross = (
            " cross-team"
            if _team_of(chart, r["from_rep_id"]) not in (None, _team_of(chart, r["to_rep_id"]))
            else ""
        )
        lines.append(
            f"  {r['proposal_id']} {r.get('account_name') or r['account_id']}: {source} → "
            f"{target} [{r['reason_code']}]{cross} {r['status']}{decides}"
        )
    if props.height > limit:
        lines.append(f"  … and {props.height - limit} more (territory-ops proposals list)")
    return lines


# people first (who left, who is away), then the largest amounts
_FLAG_URGENCY = {"left": 0, "on_leave": 1, "back_from_leave": 2, "over_capacity": 3}


def _by_urgency(flags: pl.DataFrame) -> pl.DataFrame:
    if flags.is_empty():
        return flags
    return (
        flags.with_columns(
            _scope=(pl.col("scope") != "rep").cast(pl.Int64),
            _urgency=pl.col("flag").replace_strict(_FLAG_URGENCY, default=9, return_dtype=pl.Int64),
            _size=pl.col("value").abs(),
        )
        .sort(
            ["_scope", "_urgency", "_size", "subject_id"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
        .drop("_scope", "_urgency", "_size")
    )


def _rep_label(chart: OrgChart, rep_id: str | None, name: str | None) -> str:
    if rep_id is None:
        return "(none)"
    label = name or (chart.node(rep_id).label if rep_id in chart else rep_id)
    return f"{label} ({rep_id})" if label != rep_id else rep_id
