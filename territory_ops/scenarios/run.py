"""Run scenarios against one baseline (the latest canonical tables, read once).

``run_scenario`` never raises for a bad scenario: the outcome carries the error (file, line,
key, reason) so the other scenarios still run and the caller exits non-zero.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.forecast.winrate import (
    WinRateModel,
    load_opportunities,
    win_rate_change,
    win_rates,
)
from territory_ops.optimize.api import OptimizeOptions, optimize
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.instance import HardRuleInfeasible
from territory_ops.optimize.tables import InputError, Tables, load_tables
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.plan import optimizer_options
from territory_ops.planning.store import published_assignments, published_run
from territory_ops.planning.tables import load_planning_input
from territory_ops.scenarios.apply import Applied, apply_scenario
from territory_ops.scenarios.compare import DEFAULT_COST_PER_REP, RowInputs, comparison_row
from territory_ops.scenarios.schema import Scenario, ScenarioError, read_scenario


@dataclass(frozen=True)
class Baseline:
    """What every scenario starts from; built once and shared (also across processes)."""

    accounts: pl.DataFrame  # typed canonical columns (+ extras)
    reps: pl.DataFrame
    options: OptimizeOptions  # the full pass's settings (tolerance from config/passes.yaml)
    published: pl.DataFrame | None = None  # account_id, rep_id of the published plan
    published_label: str = "published plan"
    cost_per_rep: float = DEFAULT_COST_PER_REP
    hire_time_limit: float = 60.0
    # empirical-Bayes win rates from opportunity history (None: no history, column empty)
    win_model: WinRateModel | None = field(default=None, compare=False)


def make_baseline(
    accounts: pl.DataFrame | str | Path,
    reps: pl.DataFrame | str | Path,
    options: OptimizeOptions | None = None,
    **kwargs: object,
) -> Baseline:
    tables = load_tables(accounts, reps)
    return Baseline(tables.accounts, tables.reps, options or OptimizeOptions(), **kwargs)  # type: ignore[arg-type]


@dataclass
class ScenarioOutcome:
    name: str
    file: str
    row: dict[str, object]
    error: str | None = None
    applied: Applied | None = None
    plan: pl.DataFrame | None = None
    metrics: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    map_png: Path | None = None  # drawn in the worker (report.draw_scenario_map), if asked

    @property
    def ok(self) -> bool:
        return self.error is None


def _today_owner(accounts: pl.DataFrame) -> list[str]:
    return accounts["current_rep_id"].fill_null("").to_list()


def baseline_rows(base: Baseline) -> list[dict[str, object]]:
    """The "today" row and, when a plan is published, the "published plan" row."""
    today = _today_owner(base.accounts)
    rows = [
        _row(base, "today", "today", base.accounts, base.reps, today, base.options.tolerance, 0)
    ]
    if base.published is not None and base.published.height:
        planned = dict(zip(base.published["account_id"], base.published["rep_id"], strict=True))
        # accounts new since the plan keep today's owner
        owner = [planned.get(a, t) for a, t in zip(base.accounts["account_id"], today, strict=True)]
        rows.append(
            _row(
                base,
                base.published_label,
                "published",
                base.accounts,
                base.reps,
                owner,
                base.options.tolerance,
                0,
            )
        )
    for r in rows:
        r["status"] = "ok"
    return rows


def _row(
    base: Baseline,
    label: str,
    kind: str,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    owner: list[str],
    tolerance: float,
    added: int,
) -> dict[str, object]:
    row = comparison_row(
        RowInputs(
            label=label,
            kind=kind,
            accounts=accounts,
            reps=reps,
            owner=owner,
            tolerance=tolerance,
            today_owner=_today_owner(accounts),
            added_reps=added,
            cost_per_rep=base.cost_per_rep,
        )
    )
    if base.win_model is not None:
        plan = pl.DataFrame({"account_id": accounts["account_id"], "rep_id": owner})
        row["expected_win_rate_change"] = win_rate_change(base.win_model, plan, accounts)
    return row


def run_scenario(scenario: Scenario | str | Path, base: Baseline) -> ScenarioOutcome:
    """Apply and solve one scenario; a bad one comes back with ``error`` set."""
    started = time.monotonic()
    name = scenario.name if isinstance(scenario, Scenario) else Path(scenario).stem
    file = scenario.file if isinstance(scenario, Scenario) else str(scenario)
    try:
        sc = scenario if isinstance(scenario, Scenario) else read_scenario(scenario)
        name = sc.name
        applied = apply_scenario(
            sc, base.accounts, base.reps, base.options, hire_time_limit=base.hire_time_limit
        )
        result = _solve(sc, applied, base)
    except ScenarioError as err:
        return ScenarioOutcome(name, file, _failed_row(name, str(err), started), error=str(err))
    except Exception as err:  # a bug must not take the other scenarios down with it
        msg = f"{file}: unexpected error: {type(err).__name__}: {err}"
        return ScenarioOutcome(name, file, _failed_row(name, msg, started), error=msg)
    owner = result.plan["rep_id"].to_list()
    row = _row(
        base,
        name,
        "scenario",
        applied.accounts,
        applied.reps,
        owner,
        applied.options.tolerance,
        len(applied.added_reps),
    )
    row.update(
        status="ok", seconds=round(time.monotonic() - started, 2), notes="; ".join(applied.notes)
    )
    return ScenarioOutcome(
        name,
        file,
        row,
        applied=applied,
        plan=result.plan,
        metrics=result.metrics,
        warnings=list(result.warnings),
    )


def _failed_row(name: str, message: str, started: float) -> dict[str, object]:
    return {
        "scenario": name,
        "kind": "scenario",
        "status": message,
        "seconds": round(time.monotonic() - started, 2),
    }


def _solve(sc: Scenario, applied: Applied, base: Baseline):
    try:
        return optimize(applied.accounts, applied.reps, applied.options)
    except (HardRuleInfeasible, InputError) as err:
        change = _culprit(sc, base)
        reason = f"the hard rules become infeasible: {err}"
        if change is None:  # infeasible before any change: the data, not the scenario
            raise ScenarioError(sc.file, None, "(data)", reason) from None
        raise sc.error(change, change.key, reason) from None


def _culprit(sc: Scenario, base: Baseline):
    """The first change after which no plan can keep the hard rules (cheap instance checks)."""
    for i in range(len(sc.changes) + 1):
        applied = apply_scenario(
            sc, base.accounts, base.reps, base.options, upto=i, hire_time_limit=base.hire_time_limit
        )
        try:
            tables = load_tables(applied.accounts, applied.reps)
            build_instance(
                Tables(tables.accounts, tables.reps),
                applied.options.tolerance,
                applied.options.weights or _weights(applied.options),
                candidates=2,
            )
        except (HardRuleInfeasible, InputError):
            return sc.changes[i - 1] if i else None
    return sc.changes[-1] if sc.changes else None


def _weights(options: OptimizeOptions):
    from territory_ops.optimize.instance import FULL_WEIGHTS, MICRO_WEIGHTS

    return FULL_WEIGHTS if options.mode == "full" else MICRO_WEIGHTS


_WORKER_BASE: Baseline | None = None  # the baseline, sent once to each worker process


def _init_worker(base: Baseline) -> None:
    global _WORKER_BASE
    _WORKER_BASE = base


def _run_in_worker(file: str, after: Callable[[ScenarioOutcome], None] | None) -> ScenarioOutcome:
    assert _WORKER_BASE is not None
    outcome = run_scenario(file, _WORKER_BASE)
    if after is not None:
        after(outcome)
    return outcome


def run_all(
    files: list[str | Path],
    base: Baseline,
    *,
    workers: int = 1,
    on_done: Callable[[ScenarioOutcome], None] | None = None,
    in_worker: Callable[[ScenarioOutcome], None] | None = None,
) -> list[ScenarioOutcome]:
    """Every scenario, in file order; ``workers`` > 1 runs them side by side in processes
    (spawned, so no thread pool is forked) that each receive the baseline once.
    ``in_worker`` (picklable, e.g. a partial of :func:`report.draw_scenario_map`) runs after
    each scenario in the same process, so maps are drawn side by side too."""
    done = on_done or (lambda _o: None)
    if workers <= 1 or len(files) <= 1:
        out = []
        for f in files:
            out.append(run_scenario(f, base))
            if in_worker is not None:
                in_worker(out[-1])
            done(out[-1])
        return out
    ctx = multiprocessing.get_context("spawn")
    results: list[ScenarioOutcome | None] = [None] * len(files)
    with ProcessPoolExecutor(
        min(workers, len(files)), mp_context=ctx, initializer=_init_worker, initargs=(base,)
    ) as pool:
        futures = {pool.submit(_run_in_worker, str(f), in_worker): i for i, f in enumerate(files)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            done(results[futures[fut]])  # type: ignore[arg-type]
    return [r for r in results if r is not None]


def with_time_limit(base: Baseline, seconds: float | None) -> Baseline:
    return replace(base, options=replace(base.options, time_limit=seconds))


def baseline_from_warehouse(
    con: duckdb.DuckDBPyConnection,
    *,
    time_limit: float | None = None,
    cost_per_rep: float = DEFAULT_COST_PER_REP,
    hire_time_limit: float = 60.0,
) -> Baseline:
    """The latest marts (the frames the pass plans from), the full pass's settings and the
    published plan (plans.assignments), read once for every scenario."""
    data = load_planning_input(con)
    tables = load_tables(data.accounts, data.reps)
    config = load_pass_config(overrides={"pass_kind": "full"})
    options = optimizer_options(config, tables.accounts.height)
    options = replace(
        options, time_limit=time_limit if time_limit is not None else options.time_limit
    )
    published = published_assignments(con)
    opportunities = load_opportunities(con)
    win_model = None
    if opportunities is not None and opportunities.height:
        win_model = win_rates(opportunities, tables.accounts)
    label = "published plan"
    run = published_run(con)
    if run is not None:
        label = f"published plan ({run['pass_kind']} {run['snapshot_date']})"
    return Baseline(
        accounts=tables.accounts,
        reps=tables.reps,
        options=options,
        published=published.select("account_id", "rep_id") if published is not None else None,
        published_label=label,
        cost_per_rep=cost_per_rep,
        hire_time_limit=hire_time_limit,
        win_model=win_model,
    )
