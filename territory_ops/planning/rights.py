"""Who may decide a proposal: the manager chain's decision rights.

* A move **within a team** (both reps report to one manager) is decided by that manager.
* A move **between two teams** has two sides, the losing team's manager and the gaining team's:
  it needs both (the first approval is logged and the proposal stays open, "waiting for" the
  other), or one decision by their **lowest common manager**. A rejection by either side
  rejects.
* A placement (no previous owner) has only the gaining side.
* **RevOps** (``decisions.revops`` in config/passes.yaml) may decide anything; an appealed
  proposal waits for RevOps alone.
* **Escalation**: each escalation of a side (``plans.decisions`` action ``escalate``) lets the
  next manager up that side's chain decide for it. A side whose rep has no manager in the org
  chart is RevOps's.

Pure functions over an :class:`~territory_ops.org.OrgChart`, a proposal row and the log rows of
its open round (:func:`territory_ops.planning.audit.open_round`); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from territory_ops.org import OrgChart

LOSING = "losing"
GAINING = "gaining"
BOTH = "both"
REVOPS = "revops"
_SIDE_WORDS = {LOSING: "losing team", GAINING: "gaining team", BOTH: "team"}
# actions whose right is checked (an appeal is a rep's challenge, not a decision)
CHECKED_ACTIONS = ("approve", "reject", "reverse")


@dataclass(frozen=True)
class Actor:
    """Who is deciding, as the org chart and the RevOps list know them."""

    given: str  # what was given: --by, or the Slack user id
    user_id: str | None  # the org chart user, if any
    label: str  # name to show
    revops: bool = False


def resolve_actor(
    chart: OrgChart,
    revops: Sequence[str],
    *,
    by: str | None = None,
    slack_user_id: str | None = None,
) -> Actor | None:
    """The person behind ``by`` (user id, e-mail, Slack id or the full name when unique) or a
    Slack user id; None when neither the org chart nor the RevOps list knows them."""
    keys = [k.strip() for k in (slack_user_id, by) if k and k.strip()]
    node = None
    for key in keys:
        node = chart.find(key) or _by_slack_id(chart, key) or _by_unique_name(chart, key)
        if node is not None:
            break
    listed = {r.strip().lower() for r in revops if r.strip()}
    names = {k.lower() for k in keys}
    if node is not None:
        names |= {v.lower() for v in (node.user_id, node.email, node.slack_user_id) if v}
    is_revops = bool(listed & names)
    if node is None and not is_revops:
        return None
    given = keys[0] if keys else ""
    label = node.label if node is not None else (by or given)
    return Actor(given, node.user_id if node else None, label, is_revops)


def _by_slack_id(chart: OrgChart, key: str):
    for uid in chart.user_ids:
        node = chart.node(uid)
        if node.slack_user_id and node.slack_user_id == key:
            return node
    return None


def _by_unique_name(chart: OrgChart, key: str):
    found = [
        chart.node(u) for u in chart.user_ids if (chart.node(u).name or "").lower() == key.lower()
    ]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Sides:
    """The managers whose team a move touches: side -> manager id (None: no manager known)."""

    managers: dict[str, str | None]
    lowest_common: str | None  # over the two sides of a move between teams

    @property
    def cross_team(self) -> bool:
        return LOSING in self.managers and GAINING in self.managers


def proposal_sides(chart: OrgChart, from_rep_id: str | None, to_rep_id: str) -> Sides:
    gaining = chart.manager_of(to_rep_id) if to_rep_id in chart else None
    if not from_rep_id:
        return Sides({GAINING: gaining}, None)
    losing = chart.manager_of(from_rep_id) if from_rep_id in chart else None
    if losing is not None and losing == gaining:
        return Sides({BOTH: gaining}, gaining)
    common = (
        chart.lowest_common_manager(losing, gaining)
        if losing is not None and gaining is not None
        else None
    )
    return Sides({LOSING: losing, GAINING: gaining}, common)


def escalation_levels(round_rows: Sequence[Mapping]) -> dict[str, int]:
    """How many levels up each side has been escalated in the open round."""
    out = {LOSING: 0, GAINING: 0, BOTH: 0}
    for row in round_rows:
        if row["action"] != "escalate":
            continue
        side = row["decided_as"] or BOTH
        for s in (LOSING, GAINING, BOTH) if side == BOTH else (side,):
            out[s] += 1
    return out


def approved_sides(round_rows: Sequence[Mapping]) -> dict[str, str]:
    """Side -> who approved it, for first approvals in the open round."""
    out: dict[str, str] = {}
    for row in round_rows:
        if row["action"] == "approve" and row["decided_as"] in (LOSING, GAINING, BOTH):
            out.setdefault(row["decided_as"], row["decided_by"])
    return out


def side_deciders(chart: OrgChart, manager: str | None, level: int) -> tuple[str, ...]:
    """The manager of a side and, once escalated ``level`` times, as many managers above."""
    if manager is None:
        return ()
    return (manager, *chart.chain(manager)[:level])


def _label(chart: OrgChart, user_id: str) -> str:
    return chart.node(user_id).label if user_id in chart else user_id


@dataclass(frozen=True)
class Verdict:
    """What an actor's decision on one proposal does."""

    allowed: bool
    decided_as: str | None = None  # losing | gaining | both | revops
    final: bool = True  # False: a first approval, the proposal stays open
    waiting_for: str | None = None  # who must still approve (first approvals)
    reason: str | None = None  # why not (refusals), naming who may decide
    already: bool = False  # refused because the actor's side has approved already


def who_may_decide(
    chart: OrgChart, sides: Sides, levels: Mapping[str, int], pending: Sequence[str] | None = None
) -> str:
    """'Maria Chen (losing team) and Omar Haddad (gaining team), or Dana Reyes (their lowest
    common manager), or RevOps' — for the sides still ``pending`` (default: all)."""
    pending = list(sides.managers) if pending is None else list(pending)
    parts = []
    named: set[str] = set()
    for side in pending:
        people = side_deciders(chart, sides.managers[side], levels.get(side, 0))
        named |= set(people)
        if not people:
            parts.append(f"RevOps ({_SIDE_WORDS[side]}: no manager in the org chart)")
            continue
        names = " or ".join(_label(chart, u) for u in people)
        parts.append(f"{names} ({_SIDE_WORDS[side]})" if side != BOTH else names)
    text = " and ".join(parts)
    if sides.cross_team and sides.lowest_common and sides.lowest_common not in named:
        text += f", or {_label(chart, sides.lowest_common)} (their lowest common manager)"
    if not named:  # every pending side is RevOps's already
        return text or "RevOps"
    return f"{text}, or RevOps"


def judge(
    chart: OrgChart,
    actor: Actor,
    row: Mapping,
    action: str,
    round_rows: Sequence[Mapping] = (),
) -> Verdict:
    """May ``actor`` take ``action`` on the proposal ``row`` (from_rep_id, to_rep_id, status)?"""
    if action not in CHECKED_ACTIONS:
        return Verdict(True)
    if actor.revops:
        return Verdict(True, REVOPS)
    if row["status"] == "appealed":
        return Verdict(False, reason="an appealed change waits for RevOps")
    sides = proposal_sides(chart, row["from_rep_id"], row["to_rep_id"])
    levels = escalation_levels(round_rows)
    done = approved_sides(round_rows) if row["status"] == "open" else {}
    uid = actor.user_id
    mine = [
        s for s, m in sides.managers.items() if uid and uid in side_deciders(chart, m, levels[s])
    ]
    if uid is not None and uid == sides.lowest_common and sides.cross_team:
        mine = list(sides.managers)
    if not mine:
        return Verdict(
            False,
            reason=f"{actor.label} may not decide this change; it is decided by "
            + who_may_decide(chart, sides, levels),
        )
    whole = set(mine) == set(sides.managers)
    as_ = BOTH if (whole and sides.cross_team) or mine == [BOTH] else mine[0]
    if action != "approve":
        return Verdict(True, as_)  # a rejection (or taking back an approval) by either side
    pending = [s for s in sides.managers if s not in done]
    left = [s for s in pending if s not in mine]
    if not left:
        return Verdict(True, as_)
    if len(left) == len(pending):  # the actor's side is approved already
        firsts = ", ".join(f"{by} ({_SIDE_WORDS[s]})" for s, by in done.items())
        return Verdict(
            False,
            reason=f"already approved by {firsts}; waiting for "
            + who_may_decide(chart, sides, levels, left),
            already=True,
        )
    side = next(s for s in mine if s in pending)
    return Verdict(True, side, final=False, waiting_for=who_may_decide(chart, sides, levels, left))


def deciders_now(
    chart: OrgChart, row: Mapping, round_rows: Sequence[Mapping] = ()
) -> tuple[str, ...]:
    """The org chart users who may now move an open proposal on (approve a side still waiting,
    or decide the whole as the lowest common manager), sorted; RevOps aside. For digests and
    roll-ups: "moves waiting for you"."""
    sides = proposal_sides(chart, row["from_rep_id"], row["to_rep_id"])
    levels = escalation_levels(round_rows)
    done = approved_sides(round_rows)
    out = {
        u
        for s, m in sides.managers.items()
        if s not in done
        for u in side_deciders(chart, m, levels[s])
    }
    if sides.cross_team and sides.lowest_common:
        out.add(sides.lowest_common)
    return tuple(sorted(out))
