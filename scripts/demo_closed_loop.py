"""The demo's closed loop: what is decided in one month is in the CRM the next.

    python -m scripts.demo_closed_loop --landing var/demo_landing --writeback var/demo_writeback \\
        2026-08-31 2026-09-30 2026-10-31

For each month, as the schedule would: the CRM's import of last month's write-back lands in the
month's snapshot (the sample's CRM simulator, ``territory-ops sample apply-writeback``), the
territory job plans it (``territory-ops run --as-of``: a full pass the first month, micro
passes after), the routing policy approves what it may and each manager approves the rest of
their team's proposals, and ``territory-ops writeback --as-of <next month end>`` writes what
is due by then. A table at the end shows whether the months converge, and the published plan
per region (the regional directors) and team.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import polars as pl

from benchmarks.bench_closed_loop_12_months import (
    _pct,
    approve_all_per_manager,
    cli,
    connect,
    proposal_figures,
    refusal_kinds,
    routed_by_policy,
    write_back,
)


def _latest_run(con) -> dict:
    from territory_ops.planning import store

    row = con.execute("select run_id from plans.runs order by created_at desc limit 1").fetchone()
    record = store.run_record(con, row[0]) if row else None
    if record is None:
        raise SystemExit("the pass made no plan: see its output above")
    return record


def run_demo(landing: Path, writeback: Path, months: list[date]) -> list[dict]:
    """The loop over ``months``; one summary row per month."""
    rows: list[dict] = []
    for k, day in enumerate(months):
        print(f"\n=== {day.isoformat()} ===", flush=True)
        imported = gone = 0
        if k:
            from territory_ops.extracts.sample.crm_simulator import apply_writeback

            result = apply_writeback(writeback, landing / day.isoformat())
            print(result.summary(), flush=True)
            imported, gone = result.objects["Account.csv"].applied, result.gone
        kind = "full" if k == 0 else "micro"
        run = ["run", "--landing", str(landing), "--pass", kind, "--as-of", day.isoformat()]
        if cli(run) != 0:
            raise SystemExit(f"the {kind} pass on {day} failed")
        with connect() as con:
            record = _latest_run(con)
            figures = proposal_figures(con, record["run_id"], day)
            routed = routed_by_policy(con, record["run_id"])
            decided = approve_all_per_manager(con, k + 1)
        print(
            f"Routing policy approved {routed}; managers approved {decided.approved}.", flush=True
        )
        for line in refusal_lines(decided.refused):
            print(line, flush=True)
        written = 0
        if k + 1 < len(months):
            batches = write_back(writeback, months[k + 1])
            written = sum(
                pl.read_csv(b / "Account.csv", infer_schema=False).height for b in batches
            )
        before, after = record["kpis_before"] or {}, record["kpis_after"] or {}
        rows.append(
            {
                "month": day.isoformat(),
                "pass": kind,
                "imported": imported,
                "gone": gone,
                "new": figures["new"],
                "waiting": figures["waiting"],
                "forced": figures["forced"],
                "discretionary": figures["discretionary"],
                "moves": record["moves"],
                "written": written,
                "unowned": before.get("unowned_accounts"),
                "in_band": before.get("share_in_band"),
                "plan_in_band": after.get("share_in_band"),
                "cv": before.get("potential_cv"),
                "plan_cv": after.get("potential_cv"),
            }
        )
    return rows


# why an approval is refused, in the words a manager would want (by the decision's reason)
REFUSAL_EXPLAINED = {
    "waiting for export": (
        "the account already has an approved change from an earlier pass waiting for its "
        "date, to another rep (in the demo, mostly one who has since left or gone on leave), "
        "and an account keeps one approved change at a time: this pass's proposal waits until "
        "the approved one is exported or the next pass supersedes it"
    ),
}


def refusal_lines(refused: list[str]) -> list[str]:
    """The proposals whose approval was refused, grouped by why, each kind explained where the
    demo knows it."""
    kinds = refusal_kinds(refused)
    if not kinds:
        return []
    lines = [f"{sum(n for _, n in kinds)} proposal(s) could not be approved, left open:"]
    for why, n in kinds:
        told = next((text for key, text in REFUSAL_EXPLAINED.items() if key in why), why)
        lines.append(f"  {n} x {told}")
    return lines


def summary(rows: list[dict]) -> str:
    lines = [
        "| month | pass | imported from last month | proposals new / still waiting | "
        "forced / discretionary | plan moves | without active owner | reps in band (CRM -> "
        "plan) | potential CV (CRM -> plan) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        gone = f" ({r['gone']} gone)" if r["gone"] else ""
        lines.append(
            f"| {r['month']} | {r['pass']} | {r['imported']:,}{gone} | {r['new']:,} / "
            f"{r['waiting']:,} | {r['forced']:,} / {r['discretionary']:,} | {r['moves']:,} | "
            f"{r['unowned']:,} | {_pct(r['in_band'])} -> {_pct(r['plan_in_band'])} | "
            f"{r['cv']:.3f} -> {r['plan_cv']:.3f} |"
        )
    return "\n".join(lines)


def director_digest_preview() -> str:
    """The newest roll-up a director received in the demo, as Slack would show it (Markdown
    preview); empty when the sample's organisation has no level above the first-line managers."""
    from territory_ops.notify.model import ROLLUP_DIGEST
    from territory_ops.notify.outbox import latest_digest
    from territory_ops.notify.preview import digest_markdown

    with connect() as con:
        digest = latest_digest(con, ROLLUP_DIGEST)
    if digest is None:
        return ""
    return (
        f"\nA director's digest: one roll-up of their teams per pass (snapshot "
        f"{digest.snapshot_date}, {digest.pass_kind} pass; preview of the Slack message):\n\n"
        + digest_markdown(digest)
    )


def show_director_digest() -> None:
    """Print one director's roll-up digest, if the organisation has directors."""
    preview = director_digest_preview()
    if preview:
        print(preview)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--writeback", type=Path, required=True)
    parser.add_argument("months", nargs="+", type=date.fromisoformat)
    args = parser.parse_args()
    rows = run_demo(args.landing, args.writeback, sorted(args.months))
    print("\nThe closed loop, month by month (CRM = the snapshot as it landed, with last")
    print("month's write-back imported; forced = placements of new and orphaned accounts,")
    print("leave covers and hand-backs):\n")
    print(summary(rows))
    show_regions()
    show_director_digest()
    overlay_pods()


def show_regions() -> None:
    """The published plan as the regional directors read it: each region with its teams."""
    print("\nThe published plan per region and team (territory-ops plan show --by manager):\n")
    cli(["plan", "show", "--by", "manager"])


def overlay_pods() -> None:
    """The overlay reps' pods of the last pass: who covers which account executives, each
    overlay's load against its band, and the regions a role does not cover."""
    from territory_ops.planning.overlay import (
        pod_table_markdown,
        run_overlay_gaps,
        run_overlay_loads,
        run_overlay_pods,
    )

    with connect() as con:
        run_id = _latest_run(con)["run_id"]
        loads = run_overlay_loads(con, run_id)
        pods = run_overlay_pods(con, run_id)
        gaps = run_overlay_gaps(con, run_id)
        names = dict(
            con.execute(
                "select rep_id, rep_name from marts.rep_roster where rep_name is not null"
            ).fetchall()
        )
    print("\nOverlay pods (SEs and CSMs over the account executives' books, last pass):\n")
    print(pod_table_markdown(loads, pods, names=names))
    for detail in gaps["detail"].to_list():
        print(f"  coverage gap: {detail}")


if __name__ == "__main__":
    main()
