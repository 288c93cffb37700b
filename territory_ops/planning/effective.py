"""When an approved change takes effect: the default by pass kind and reason, and the
approver's own date checked.

Defaults are anchored at the snapshot date of the pass that proposed the change — the plan's
own day — so a change approved a few days after its pass has the same date as one approved at
once, and a replayed month (the CRM simulator, a benchmark) dates its changes in its own time:

* ``at_once``: the snapshot date (already due);
* ``next_month``: the first day of the month after the snapshot;
* ``next_quarter``: the first day of the planning calendar's next quarter.

An approver may set another date. A date before the day of the decision is allowed only for
placements of accounts without an active owner (new and orphaned accounts): backdating one
says since when it had its owner; backdating a balance move would rewrite a closed month.
"""

from __future__ import annotations

from datetime import date

from territory_ops.planning.calendar import next_month_start, next_quarter_start
from territory_ops.planning.config import EffectiveDateSettings
from territory_ops.planning.kinds import PLACEMENT_KINDS


def default_effective_on(
    rules: EffectiveDateSettings, pass_kind: str, reason_code: str, snapshot_date: date
) -> date:
    rule = rules.rule(pass_kind, reason_code)
    if rule == "next_month":
        return next_month_start(snapshot_date)
    if rule == "next_quarter":
        return next_quarter_start(snapshot_date)
    return snapshot_date


def past_date_refusal(reason_code: str, effective_on: date, today: date) -> str | None:
    """Why ``effective_on`` may not be set on a change of kind ``reason_code`` (None = fine)."""
    if effective_on >= today or reason_code in PLACEMENT_KINDS:
        return None
    return (
        f"effective date {effective_on.isoformat()} is in the past (today is "
        f"{today.isoformat()}); only placements of new or orphaned accounts may be backdated, "
        f"a {reason_code} change may not"
    )


def effective_phrase(effective_on: date | None, as_of: date | None = None) -> str:
    """``takes effect on 2027-01-01`` (or ``in effect since ...`` once the day has come)."""
    if effective_on is None:
        return "takes effect at once"
    if as_of is not None and effective_on <= as_of:
        return f"in effect since {effective_on.isoformat()}"
    return f"takes effect on {effective_on.isoformat()}"
