"""One call per pass: render every digest, record it in the outbox, deliver what is pending.

This is what the Dagster asset will call after a pass (it stays thin): the result carries the
figures and previews a reviewer needs, as plain values. Delivery never raises; rendering does
raise on bad input (a clear error naming the frame and column), which should fail the step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.model import Digest
from territory_ops.notify.outbox import DeliveryReport, deliver_pending, enqueue_digests
from territory_ops.notify.preview import digest_markdown
from territory_ops.notify.rollup_digests import render_rollup_digests
from territory_ops.notify.sender import DigestSender
from territory_ops.notify.summary import render_revops_summary
from territory_ops.org import OrgChart

MAX_PREVIEWS = 3  # Markdown previews kept for the run's metadata (the rest are in the outbox)


@dataclass
class NotifyReport:
    digests: int
    new: int
    already_recorded: int
    unrouted: int
    delivery: DeliveryReport
    previews: list[str] = field(default_factory=list)
    rollups: int = 0  # of the digests: roll-ups for directors / VPs and per region for RevOps
    unreachable_managers: tuple[str, ...] = ()  # directors / VPs without e-mail or Slack id

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for ``MaterializeResult`` metadata (no secret can be in them)."""
        return {
            "digests rendered": self.digests,
            "roll-up digests (directors, VPs, regions)": self.rollups,
            "digests new this pass": self.new,
            "digests already recorded (not posted again)": self.already_recorded,
            "sent": len(self.delivery.sent),
            "updated in place": len(self.delivery.updated),
            "pending (retried next run)": len(self.delivery.pending),
            "failed (fix the roster)": len(self.delivery.failed),
            "proposals without a manager to notify": self.unrouted,
            "directors / VPs without e-mail or Slack id": ", ".join(self.unreachable_managers)
            or "none",
            "errors": "\n".join(f"{k[:12]}: {v}" for k, v in self.delivery.errors.items())
            or "none",
            "preview": "\n\n---\n\n".join(self.previews) or "no digest this pass",
        }


def notify_pass(
    con: duckdb.DuckDBPyConnection,
    proposals: pl.DataFrame,
    roster: pl.DataFrame,
    sender: DigestSender,
    *,
    revops_channel: str,
    run_url: str | None = None,
    kpis: Sequence[Mapping[str, Any]] = (),
    out_of_band: Sequence[Mapping[str, Any]] = (),
    drift_flags: Sequence[Mapping[str, Any]] = (),
    appeals: Sequence[Mapping[str, Any]] = (),
    snapshot_date: date | None = None,
    pass_kind: str | None = None,
    now: datetime | None = None,
    approved: pl.DataFrame | None = None,
    pending: pl.DataFrame | None = None,
    chart: OrgChart | None = None,
    rollup: pl.DataFrame | None = None,
    holdovers: pl.DataFrame | None = None,
    pod_changes: pl.DataFrame | None = None,
    overlay_flags: pl.DataFrame | None = None,
    run_id: str | None = None,
) -> NotifyReport:
    """Digests for every manager + the RevOps summary, through the outbox, delivered once.

    ``approved``: the pass's proposals the routing policy approved (listed with their dates in
    the managers' digests and the summary); ``pending``: approved changes not yet in effect;
    ``holdovers``: the holdover report, shown to the managers of both reps of each held deal.
    ``pod_changes`` / ``overlay_flags``: the overlay plan's changes and flags for the managers
    they concern (:func:`territory_ops.planning.overlay.overlay_digest_notes`); with
    ``run_id``, ``snapshot_date`` and ``pass_kind`` a pass without proposals still sends them.
    ``chart``: the sales organisation; with it, every director / VP whose region the pass
    touches gets one roll-up and RevOps one per top-level region (``rollup``: the plan's
    figures per node, :func:`territory_ops.planning.rollup.rollup_by_node`).
    """
    routed = render_manager_digests(
        proposals,
        roster,
        run_url=run_url,
        approved=approved,
        holdovers=holdovers,
        pod_changes=pod_changes,
        overlay_flags=overlay_flags,
        pass_info=(snapshot_date, pass_kind, run_id)
        if snapshot_date is not None and pass_kind is not None
        else None,
    )
    rollups: tuple[Digest, ...] = ()
    unreachable: tuple[str, ...] = ()
    if chart is not None:
        rendered = render_rollup_digests(
            proposals,
            chart,
            rollup=rollup,
            appeals=appeals,
            revops_channel=revops_channel,
            run_url=run_url,
            snapshot_date=snapshot_date,
            pass_kind=pass_kind,
        )
        rollups, unreachable = rendered.digests, rendered.unreachable
    summary = render_revops_summary(
        proposals,
        channel=revops_channel,
        kpis=kpis,
        out_of_band=out_of_band,
        drift_flags=drift_flags,
        appeals=appeals,
        unrouted=routed.unrouted,
        snapshot_date=snapshot_date,
        pass_kind=pass_kind,
        run_url=run_url,
        approved=approved,
        pending=pending,
    )
    digests: list[Digest] = [*routed.digests, *rollups, summary]
    recorded = enqueue_digests(con, digests, now=now)
    delivery = deliver_pending(con, sender, now=now)
    new = set(recorded.new_keys)
    fresh = [d for d in digests if d.idempotency_key() in new]
    # one of each kind first (a team's digest, a director's roll-up, ...), then the rest
    firsts = {d.kind: d for d in reversed(fresh)}
    ordered = [d for d in fresh if firsts[d.kind] is d] + [
        d for d in fresh if firsts[d.kind] is not d
    ]
    previews = [digest_markdown(d) for d in ordered[:MAX_PREVIEWS]]
    return NotifyReport(
        digests=len(digests),
        new=len(recorded.new_keys),
        already_recorded=len(recorded.known_keys),
        unrouted=routed.unrouted.height,
        delivery=delivery,
        previews=previews,
        rollups=len(rollups),
        unreachable_managers=unreachable,
    )
