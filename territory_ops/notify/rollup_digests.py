"""Digests above the first line: one roll-up per pass for every director or VP, and per region
for RevOps.

First-line managers get their team's digest (:mod:`territory_ops.notify.digest`). A manager
with first-line managers under them (a second-line manager, a director, a VP) gets ONE roll-up
per pass instead of a copy of every team's digest: each unit's balance before → after (a
first-line team, or a sub-region for a VP), the moves into and out of their region, the moves
between two of their teams that wait for them (they are the lowest common manager of the two
teams, so they may decide them alone; the buttons are the same as in a team digest), and the
open appeals in their region. RevOps gets the same roll-up for each top-level region, without
buttons (RevOps decides from the CLI or the summary).

The org comes from :class:`territory_ops.org.OrgChart`; the balance figures per node from the
plan's roll-up (:func:`territory_ops.planning.rollup.rollup_by_node`), the same figures
``territory-ops plan show --by manager`` prints. Messages stay within Slack's limits: lists are
fitted by whole lines with "and N more", moves fill what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from territory_ops.formatting import money, percent
from territory_ops.notify.blocks import (
    context_block,
    header_block,
    pass_line,
    plural,
    rep_label,
    section_block,
)
from territory_ops.notify.manager_blocks import approve_all_button, fill_moves, link_button
from territory_ops.notify.model import (
    REGION_ROLLUP,
    ROLLUP_DIGEST,
    Digest,
    Recipient,
    one_pass,
    open_proposals,
)
from territory_ops.notify.text import MAX_FALLBACK_TEXT, MAX_LIST_SECTION, escape, fit_lines
from territory_ops.org import OrgChart
from territory_ops.planning.rollup import deciding_manager

DEFAULT_TOP_MOVES = 12
MAX_TEAMS_NAMED = 8  # in the opening sentence; the balance section lists every unit it can
MOVE_LIST_CHARS = 1000  # moves in / out / between teams, each section
APPEAL_LIST_CHARS = 800
BALANCE_COLUMNS = (
    "node_id",
    "reps",
    "in_band_before",
    "in_band_after",
    "potential_before",
    "potential_after",
    "target",
)


def balance_line(row: Mapping[str, Any]) -> str:
    """A roll-up row's balance, CRM today → plan: reps in band, potential against target."""
    ratio = ""
    target = row["target"] or 0.0
    if target > 0:
        ratio = (
            f" · potential {percent(row['potential_before'] / target)} → "
            f"{percent(row['potential_after'] / target)} of target "
            f"({money(row['potential_before'])} → {money(row['potential_after'])} "
            f"vs {money(target)})"
        )
    return (
        f"{row['in_band_before']} → {row['in_band_after']} of {plural(row['reps'], 'rep')} "
        f"in band{ratio}"
    )


@dataclass(frozen=True)
class RollupDigests:
    digests: tuple[Digest, ...]
    # directors/VPs whose region had something this pass but who have no e-mail or Slack id
    unreachable: tuple[str, ...] = ()


# --- the org as the digests see it ----------------------------------------------------------


def senior_managers(chart: OrgChart) -> tuple[str, ...]:
    """Managers with at least one first-line manager under them (directors, VPs), by id."""
    out: set[str] = set()
    for manager in chart.first_line_managers():
        out.update(chart.chain(manager))
    return tuple(sorted(out))


def top_regions(chart: OrgChart) -> tuple[str, ...]:
    """Top-level nodes with a hierarchy under them: one RevOps roll-up each. A flat
    organisation (first-line managers at the top) has none; the RevOps summary covers it."""
    seniors = set(senior_managers(chart))
    return tuple(r for r in chart.roots() if r in seniors)


def _name(chart: OrgChart, user_id: str | None) -> str:
    if user_id is None or user_id not in chart:
        return user_id or "no manager"
    return chart.node(user_id).label


@dataclass(frozen=True)
class _Unit:
    """A line of a node's balance section: one team, or a sub-region for a VP."""

    label: str
    balance: str | None  # None: no roll-up figures for it
    teams: tuple[str, ...]  # first-line managers in the unit (named in the opening)


def _units(chart: OrgChart, node: str, figures: Mapping[str, Mapping[str, Any]]) -> list[_Unit]:
    """The node's direct reports that lead a team or a region; a first-line manager who is
    also a director counts as one of their own teams."""
    firsts = set(chart.first_line_managers())
    seniors = set(senior_managers(chart))
    units: list[_Unit] = []
    if node in firsts:
        units.append(_Unit("Your own team", None, (node,)))
    for report in chart.reports(node):
        if report in seniors:
            teams = tuple(m for m in (report, *chart.under(report)) if m in firsts)
            label = f"{escape(_name(chart, report))}'s region ({plural(len(teams), 'team')})"
        elif report in firsts:
            teams = (report,)
            label = f"{escape(_name(chart, report))}'s team"
        else:
            continue
        row = figures.get(report)
        units.append(_Unit(label, balance_line(row) if row else None, teams))
    return sorted(units, key=lambda u: (u.label != "Your own team", u.label))


@dataclass(frozen=True)
class _Moves:
    """A region's open proposals, sorted by what the roll-up does with them."""

    touching: pl.DataFrame  # every move with one end in the region
    within_team: pl.DataFrame
    waiting: pl.DataFrame  # between two teams whose lowest common manager is the node
    between_below: pl.DataFrame  # between two teams, decided lower down
    moving_in: pl.DataFrame
    moving_out: pl.DataFrame


def _with_teams(chart: OrgChart, moves: pl.DataFrame) -> pl.DataFrame:
    """The moves with each side's first-line manager (``from_team``, ``to_team``) and who may
    decide the move alone (``decider``: the team's manager, or two teams' lowest common
    manager; the rule :func:`territory_ops.planning.rollup.deciding_manager` counts by)."""
    teams = {u: chart.manager_of(u) for u in chart.user_ids}
    deciders = [
        deciding_manager(chart, f, t) for f, t in moves.select("from_rep_id", "to_rep_id").rows()
    ]
    return moves.with_columns(
        *(
            pl.col(f"{side}_rep_id")
            .cast(pl.Utf8)
            .replace_strict(teams, default=None, return_dtype=pl.Utf8)
            .alias(f"{side}_team")
            for side in ("from", "to")
        ),
        pl.Series("decider", deciders, dtype=pl.Utf8),
    )


def _classify(chart: OrgChart, node: str, moves: pl.DataFrame) -> _Moves:
    """``moves`` carry ``from_team``, ``to_team`` and ``decider`` (:func:`_with_teams`)."""
    region = list(chart.under(node))
    inside_from = pl.col("from_rep_id").is_in(region).fill_null(False)
    inside_to = pl.col("to_rep_id").is_in(region).fill_null(False)
    touching = moves.filter(inside_from | inside_to)
    both = touching.filter(inside_from & inside_to)
    same = pl.col("from_team") == pl.col("to_team")
    between = both.filter(~same.fill_null(False))
    return _Moves(
        touching=touching,
        within_team=both.filter(same.fill_null(False)),
        waiting=between.filter(pl.col("decider") == node),
        between_below=between.filter(pl.col("decider").ne_missing(node)),
        moving_in=touching.filter(inside_to & ~inside_from),
        moving_out=touching.filter(inside_from & ~inside_to),
    )


def _with_team_names(chart: OrgChart, moves: pl.DataFrame) -> pl.DataFrame:
    """The moves with each rep named with their team, as a move's section shows them."""
    labels = {m: f"{_name(chart, m)}'s team" for m in chart.first_line_managers()}
    return moves.with_columns(
        pl.format(
            "{} ({})",
            pl.coalesce(f"{side}_rep_name", f"{side}_rep_id"),
            pl.col(f"{side}_team").replace_strict(labels, default=None, return_dtype=pl.Utf8),
        )
        .fill_null(pl.col(f"{side}_rep_name"))
        .alias(f"{side}_rep_name")
        for side in ("from", "to")
    )


def _rep_side(chart: OrgChart, name: Any, rep_id: Any, team: Any) -> str:
    label = rep_label(name, rep_id)
    return f"{label} ({escape(_name(chart, team))}'s team)" if team else label


def _move_lines(chart: OrgChart, moves: pl.DataFrame, decider: bool = False) -> list[str]:
    lines = []
    for r in moves.iter_rows(named=True):
        line = (
            f"• *{escape(r['account_name'])}* ({money(r['potential'])}): "
            f"{_rep_side(chart, r['from_rep_name'], r['from_rep_id'], r['from_team'])} → "
            f"{_rep_side(chart, r['to_rep_name'], r['to_rep_id'], r['to_team'])} · "
            f"`{escape(r['reason_code'])}`"
        )
        if decider:
            who = escape(_name(chart, r["decider"])) if r["decider"] else "RevOps"
            line += f" · {who} decides (or both team managers)"
        lines.append(line)
    return lines


def _region_appeals(
    appeals: Sequence[Mapping[str, Any]], region: set[str]
) -> list[Mapping[str, Any]]:
    return [a for a in appeals if a.get("from_rep_id") in region or a.get("to_rep_id") in region]


def _appeal_lines(appeals: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"• {escape(a.get('account_name') or a.get('proposal_id'))} "
        f"(`{escape(a.get('proposal_id'))}`), appealed by {escape(a.get('appealed_by') or '?')}"
        + (f": {escape(a['reason'])}" if a.get("reason") else "")
        for a in appeals
    ]


def _teams_named(units: Sequence[_Unit], chart: OrgChart) -> str:
    names = [escape(_name(chart, t)) for u in units for t in u.teams]
    shown = names[:MAX_TEAMS_NAMED]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pass:
    snapshot: date
    kind: str
    run_id: str | None
    run_url: str | None


@dataclass(frozen=True)
class _Voice:
    """Who the roll-up speaks to: the manager ("you", "your") or RevOps (the region's head)."""

    you: str
    your: str


_MANAGER = _Voice("you", "your")


def _opening(chart: OrgChart, units: Sequence[_Unit], m: _Moves, n_appeals: int, v: _Voice) -> str:
    n_teams = sum(len(u.teams) for u in units)
    parts = [f"*{m.waiting.height} between {v.your} teams waiting for {v.you}*"]
    counted = (
        (m.within_team.height, "within a team (its manager decides)"),
        (m.between_below.height, f"between teams decided below {v.you}"),
        (m.moving_in.height, f"into {v.your} region"),
        (m.moving_out.height, f"out of {v.your} region"),
    )
    parts += [f"{n} {what}" for n, what in counted if n]
    appeals = f"; {plural(n_appeals, 'open appeal')}" if n_appeals else ""
    return (
        f"*{plural(m.touching.height, 'proposed change')}* touch {v.your} region "
        f"({plural(n_teams, 'team')}: {_teams_named(units, chart)}): "
        f"{', '.join(parts)}{appeals}."
    )


def _list_sections(
    chart: OrgChart,
    units: Sequence[_Unit],
    m: _Moves,
    appeals: Sequence[Mapping[str, Any]],
    v: _Voice,
    *,
    between_all: bool,
) -> list[dict[str, Any]]:
    blocks = []
    lines = [f"• *{u.label}*: {u.balance}" for u in units if u.balance is not None]
    if lines:
        title = "*Balance per team, CRM today → plan* (reps in band, potential vs target)"
        blocks.append(
            section_block(
                fit_lines([title, *lines], MAX_LIST_SECTION, "…and {n} more teams — see the run")
            )
        )
    lists = [
        (f"Moves into {v.your} region", _move_lines(chart, m.moving_in)),
        (f"Moves out of {v.your} region", _move_lines(chart, m.moving_out)),
    ]
    if between_all:
        between = pl.concat([m.waiting, m.between_below], how="diagonal_relaxed")
        lists.append(("Moves between teams", _move_lines(chart, between, decider=True)))
    for title, items in lists:
        if items:
            text = fit_lines([f"*{title}*", *items], MOVE_LIST_CHARS, "…and {n} more — see the run")
            blocks.append(section_block(text))
    if appeals:
        title = f"*Open appeals in {v.your} region* (held until RevOps decides)"
        text = fit_lines(
            [title, *_appeal_lines(appeals)], APPEAL_LIST_CHARS, "…and {n} more — see the run"
        )
        blocks.append(section_block(text))
    return blocks


def _fallback(header: str, opening: str, p: _Pass, footer: str) -> str:
    plain = opening.replace("*", "")
    text = f"{header} (snapshot {p.snapshot.isoformat()}, {escape(p.kind)} pass). {plain}"
    tail = f" {footer}" + (f" Run: {p.run_url}" if p.run_url else "")
    room = MAX_FALLBACK_TEXT - len(tail)
    if len(text) > room:
        text = text[: room - 1].rsplit(" ", 1)[0] + "…"
    return text + tail


def _manager_digest(
    chart: OrgChart,
    node: str,
    m: _Moves,
    units: Sequence[_Unit],
    appeals: Sequence[Mapping[str, Any]],
    p: _Pass,
    top_moves: int,
) -> Digest:
    person = chart.node(node)
    n_wait = m.waiting.height
    header = f"Your region: {plural(m.touching.height, 'proposed change')}"
    if n_wait:
        header += f", {n_wait} waiting for you"
    opening = _opening(chart, units, m, len(appeals), _MANAGER)
    head = [
        header_block(header),
        context_block(pass_line(p.snapshot, p.kind, p.run_url, p.run_id)),
        section_block(
            f"Hi {escape(person.label)}, the {escape(p.kind)} pass: {opening} "
            "Nothing changes in the CRM until a change is approved and exported."
        ),
        *_list_sections(chart, units, m, appeals, _MANAGER, between_all=False),
        {"type": "divider"},
    ]
    if n_wait:
        head.append(
            section_block(
                f"*Between your teams, waiting for you* — as their lowest common manager you "
                f"may decide {'it' if n_wait == 1 else 'them'} alone "
                "(or both team managers approve)."
            )
        )
    else:
        head.append(context_block("No move between your teams waits for you this pass."))
    ids = m.waiting["proposal_id"].to_list()
    elements = []
    if ids:
        label = "Approve all {n} between my teams"
        elements.append(approve_all_button({"manager_id": node}, p.run_id, ids, label))
    if p.run_url:
        elements.append(link_button(p.run_url))
    tail: list[dict[str, Any]] = [{"type": "divider"}]
    if elements:
        tail.append({"type": "actions", "block_id": f"team:{node}", "elements": elements})
    tail.append(
        context_block(
            "Moves within a team are decided by its manager, and appear here for the balance. "
            "Reps can appeal with `territory-ops proposals appeal`; an appealed change waits "
            "for RevOps."
        )
    )
    text = _fallback(header, opening, p, "Decide in Slack or with `territory-ops proposals`.")
    shown = _with_team_names(chart, m.waiting)
    blocks = fill_moves(head, tail, shown, top_moves, p.run_url, p.run_id, len(text))
    return Digest(
        kind=ROLLUP_DIGEST,
        recipient=Recipient(
            key=f"manager:{node}",
            name=person.label,
            email=person.email,
            slack_user_id=person.slack_user_id,
        ),
        snapshot_date=p.snapshot,
        pass_kind=p.kind,
        run_id=p.run_id,
        text=text,
        blocks=tuple(blocks),
        proposal_ids=tuple(ids),
        run_url=p.run_url,
    )


def _region_digest(
    chart: OrgChart,
    root: str,
    m: _Moves,
    units: Sequence[_Unit],
    appeals: Sequence[Mapping[str, Any]],
    p: _Pass,
    channel: str,
) -> Digest:
    region = escape(_name(chart, root))
    # a header is plain text: Slack shows it as written
    header = f"{_name(chart, root)}'s region: {plural(m.touching.height, 'proposed change')}"
    voice = _Voice(region, "the")
    opening = _opening(chart, units, m, len(appeals), voice)
    blocks = [
        header_block(header),
        context_block(pass_line(p.snapshot, p.kind, p.run_url, p.run_id)),
        section_block(f"Region of *{region}*, the {escape(p.kind)} pass: {opening}"),
        *_list_sections(chart, units, m, appeals, voice, between_all=True),
        context_block(
            "Roll-up for RevOps: the region's managers decide in their own digests; RevOps may "
            "decide any change with `territory-ops proposals approve|reject`."
        ),
    ]
    text = _fallback(header, opening, p, "RevOps decides with `territory-ops proposals`.")
    return Digest(
        kind=REGION_ROLLUP,
        recipient=Recipient(
            key=f"channel:{channel}:region:{root}",
            name=f"{channel} ({_name(chart, root)})",
            channel=channel,
        ),
        snapshot_date=p.snapshot,
        pass_kind=p.kind,
        run_id=p.run_id,
        text=text,
        blocks=tuple(blocks),
        run_url=p.run_url,
    )


def render_rollup_digests(
    proposals: pl.DataFrame,
    chart: OrgChart,
    *,
    rollup: pl.DataFrame | None = None,
    appeals: Sequence[Mapping[str, Any]] = (),
    revops_channel: str | None = None,
    run_url: str | None = None,
    snapshot_date: date | None = None,
    pass_kind: str | None = None,
    top_moves: int = DEFAULT_TOP_MOVES,
) -> RollupDigests:
    """One roll-up per director/VP whose region the pass touches, one per top-level region for
    RevOps (when ``revops_channel`` is given).

    ``rollup``: the plan's roll-up per node (:func:`territory_ops.planning.rollup.rollup_by_node`;
    None: the balance section is left out);
    ``appeals``: open appeals with ``proposal_id, account_name, appealed_by, reason`` and the
    proposal's ``from_rep_id, to_rep_id`` (an appeal without them shows only in the RevOps
    summary). A region is touched when an open proposal has one end in it or an appeal does.
    """
    moves = _with_teams(chart, open_proposals(proposals))
    if moves.height:
        snapshot_date, pass_kind, run_id = one_pass(moves)
    else:
        run_id = None
    if snapshot_date is None or pass_kind is None:
        return RollupDigests(())
    figures: dict[str, dict[str, Any]] = {}
    if rollup is not None:
        missing = [c for c in BALANCE_COLUMNS if c not in rollup.columns]
        if missing:
            raise ValueError(
                f"roll-up frame lacks column(s) {', '.join(missing)}; "
                f"it has: {', '.join(rollup.columns)}"
            )
        figures = {r["node_id"]: r for r in rollup.select(BALANCE_COLUMNS).iter_rows(named=True)}
    p = _Pass(snapshot_date, pass_kind, run_id, run_url)
    digests: list[Digest] = []
    unreachable: list[str] = []
    regions = set(top_regions(chart))
    for node in senior_managers(chart):
        region = set(chart.under(node))
        m = _classify(chart, node, moves)
        mine = _region_appeals(appeals, region)
        if m.touching.height == 0 and not mine:
            continue
        units = _units(chart, node, figures)
        person = chart.node(node)
        if person.email or person.slack_user_id:
            digests.append(_manager_digest(chart, node, m, units, mine, p, top_moves))
        else:
            unreachable.append(node)
        if revops_channel and node in regions:
            digests.append(_region_digest(chart, node, m, units, mine, p, revops_channel))
    return RollupDigests(tuple(digests), tuple(unreachable))
