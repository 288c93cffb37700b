"""A pass whose solve runs apart from the warehouse: its steps hand each other files.

DuckDB has one writer, and the optimizer is the long part of a pass. So the pass job plans in
three kinds of step that exchange files in one folder per run, which lets the solves run in
other processes (or, with a shared volume, on other machines) while one process writes:

1. :func:`write_pass_inputs` (reads the warehouse): the snapshot and what its optimizer is
   handed (:func:`territory_ops.planning.service.prepare_stage`) as Parquet, the settings
   beside them; returns the parts to solve;
2. :func:`solve_part`: one part's plan, from its input folder to its plan folder (no warehouse);
3. :func:`stage_pass_files` (writes the warehouse): the parts' plans merged and staged as
   :func:`territory_ops.planning.service.stage_plan` stages them.

The parts: a small book is one part, the whole book (:data:`WHOLE_BOOK`), solved by the
optimizer's single entry point. A book the optimizer's size switch sends down the regional path
(:func:`territory_ops.optimize.regions.choose_path`) is split into one part per region; each
is solved on its own (:func:`~territory_ops.optimize.regions.solve_region`) and the merge
reconciles the border (:func:`~territory_ops.optimize.regions.merge_regions`). The steps
around them stay as they are.

Frames travel as Parquet; the settings, the optimizer's options and its metrics as pickles
(steps of one run share one version of this code, and a pickle keeps every value exactly).
"""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from territory_ops.optimize import PlanResult, optimize
from territory_ops.optimize.regions import (
    book_dir,
    choose_path,
    merge_regions,
    solve_region,
    split_book,
)
from territory_ops.optimize.tables import load_tables
from territory_ops.planning.config import PassConfig
from territory_ops.planning.plan import PassInputs
from territory_ops.planning.service import StagedPlan, finish_stage, prepare_stage
from territory_ops.planning.tables import PlanningInput

WHOLE_BOOK = "whole"
PARTS_DIR = "parts"
PLANS_DIR = "plans"
SETTINGS_FILE = "pass.pkl"
OPTIONS_FILE = "options.pkl"
RESULT_FILE = "result.pkl"
REGIONS_DIR = "regions"
PATH_FILE = "path.pkl"  # the size switch's choice, for the merge's report
REGION_INPUTS_FILE = "region_inputs.pkl"  # region name -> the input folder the split wrote
# PlanningInput's and PassInputs' frames, by file name
SNAPSHOT_FRAMES = ("accounts", "reps", "merged")
KEPT_FRAMES = ("returns", "uncovered", "held", "released", "carried")


@dataclass(frozen=True)
class PreparedPass:
    """What the first step hands on: the run's folder, its parts, the snapshot it plans."""

    folder: Path
    parts: list[str]
    snapshot_date: date
    n_accounts: int


def write_pass_inputs(
    con: duckdb.DuckDBPyConnection, config: PassConfig, folder: Path
) -> PreparedPass:
    """Read what a pass plans from the warehouse and write it under ``folder``."""
    data, inputs, carry = prepare_stage(con, config)
    if folder.exists():  # a re-executed run prepares afresh
        shutil.rmtree(folder)
    (folder / "snapshot").mkdir(parents=True)
    for name in SNAPSHOT_FRAMES:
        getattr(data, name).write_parquet(folder / "snapshot" / f"{name}.parquet")
    for name in KEPT_FRAMES:
        getattr(inputs, name).write_parquet(folder / "snapshot" / f"{name}.parquet")
    _dump(
        folder / SETTINGS_FILE,
        {"config": config, "snapshot_date": data.snapshot_date, "carry": carry},
    )
    whole = folder / PARTS_DIR / WHOLE_BOOK
    whole.mkdir(parents=True)
    inputs.accounts.write_parquet(whole / "accounts.parquet")
    inputs.reps.write_parquet(whole / "reps.parquet")
    options = replace(inputs.options, progress=None)
    _dump(whole / OPTIONS_FILE, options)
    parts = split_parts(folder, inputs.accounts, inputs.reps, options)
    return PreparedPass(folder, parts, data.snapshot_date, data.n_accounts)


def split_parts(
    folder: Path, accounts: pl.DataFrame, reps: pl.DataFrame, options: Any
) -> list[str]:
    """The parts a pass's book is solved in: the whole book, or one per region when the
    optimizer's size switch sends the book down the regional path."""
    tables = load_tables(accounts, reps, None)
    path = choose_path(tables, options)
    _dump(folder / PATH_FILE, path)
    if not path.regional:
        return [WHOLE_BOOK]
    regions = split_book(tables, options, folder / REGIONS_DIR)
    _dump(folder / REGION_INPUTS_FILE, {region.name: str(region) for region in regions})
    return [region.name for region in regions]


def part_folder(folder: Path, part: str) -> Path:
    return folder / PARTS_DIR / part


def plan_folder(folder: Path, part: str) -> Path:
    return folder / PLANS_DIR / part


def solve_part(folder: Path, part: str) -> Path:
    """Solve one part from its input files; its plan is written to ``plan_folder``."""
    path_in, path_out = part_folder(folder, part), plan_folder(folder, part)
    options = _load(part_folder(folder, WHOLE_BOOK) / OPTIONS_FILE)
    if part != WHOLE_BOOK:  # a region: its inputs are the split's
        if path_out.exists():
            shutil.rmtree(path_out)
        inputs = _load(folder / REGION_INPUTS_FILE)
        return solve_region(Path(inputs[part]), path_out, options)
    result = optimize(path_in / "accounts.parquet", path_in / "reps.parquet", options)
    if path_out.exists():
        shutil.rmtree(path_out)
    path_out.mkdir(parents=True)
    result.plan.write_parquet(path_out / "plan.parquet")
    result.rep_summary.write_parquet(path_out / "rep_summary.parquet")
    _dump(path_out / RESULT_FILE, {"metrics": result.metrics, "warnings": result.warnings})
    return path_out


def merge_parts(folder: Path, parts: list[str]) -> PlanResult:
    """The pass's one plan from its parts' plans: the whole book's as it is, or the regions'
    merged with the border reconciled."""
    if parts == [WHOLE_BOOK]:
        return _read_plan(plan_folder(folder, WHOLE_BOOK))
    if WHOLE_BOOK in parts:
        raise ValueError(f"parts {parts} mix the whole book with regions")
    options = _load(part_folder(folder, WHOLE_BOOK) / OPTIONS_FILE)
    plans = [plan_folder(folder, part) for part in parts]
    regions = book_dir(folder / REGIONS_DIR)
    return merge_regions(plans, regions, options, path=_load(folder / PATH_FILE))


def stage_pass_files(
    con: duckdb.DuckDBPyConnection, run_id: str, folder: Path, parts: list[str]
) -> StagedPlan:
    """Stage the merged plan of the parts, as :func:`~territory_ops.planning.service.stage_plan`
    does; the folder is removed once the plan is in the warehouse."""
    settings = _load(folder / SETTINGS_FILE)
    config: PassConfig = settings["config"]
    frames = {
        name: pl.read_parquet(folder / "snapshot" / f"{name}.parquet")
        for name in (*SNAPSHOT_FRAMES, *KEPT_FRAMES)
    }
    data = PlanningInput(
        snapshot_date=settings["snapshot_date"],
        accounts=frames["accounts"],
        reps=frames["reps"],
        merged=frames["merged"],
    )
    whole = part_folder(folder, WHOLE_BOOK)
    inputs = PassInputs(
        accounts=pl.read_parquet(whole / "accounts.parquet"),
        reps=pl.read_parquet(whole / "reps.parquet"),
        options=_load(whole / OPTIONS_FILE),
        **{name: frames[name] for name in KEPT_FRAMES},
    )
    result = merge_parts(folder, parts)
    staged = finish_stage(con, run_id, config, data, inputs, result, settings["carry"])
    shutil.rmtree(folder, ignore_errors=True)
    return staged


def _read_plan(path: Path) -> PlanResult:
    result = _load(path / RESULT_FILE)
    return PlanResult(
        plan=pl.read_parquet(path / "plan.parquet"),
        metrics=result["metrics"],
        rep_summary=pl.read_parquet(path / "rep_summary.parquet"),
        warnings=result["warnings"],
    )


def _dump(path: Path, value: Any) -> None:
    path.write_bytes(pickle.dumps(value))


def _load(path: Path) -> Any:
    return pickle.loads(path.read_bytes())
