"""What the scoring assets tell a reviewer: the numbers to trust or question a score."""

from __future__ import annotations

import polars as pl

from territory_ops.metadata import StepSummary, markdown_table, named, names_by_id
from territory_ops.scoring.config import ScoringConfig
from territory_ops.scoring.potential import ScoringResult, calibration_markdown


def top_accounts_markdown(
    scores: pl.DataFrame, accounts: pl.DataFrame | None = None, limit: int = 10
) -> str:
    """The highest-potential accounts, by name and CRM id, with the sentence that explains each."""
    names = names_by_id(accounts, "account_id", "account_name") if accounts is not None else {}
    rows = [
        [
            named(names.get(r["account_id"]), r["account_id"]),
            f"{r['potential']:,.0f}",
            r["potential_explanation"],
        ]
        for r in scores.sort("potential", descending=True).head(limit).iter_rows(named=True)
    ]
    return markdown_table(["account", "potential", "why"], "lrl", rows)


def scoring_summary(
    result: ScoringResult, config: ScoringConfig, accounts: pl.DataFrame | None = None
) -> StepSummary:
    """Everything needed to explain a past plan's scores, and to judge this one."""
    validation = result.validation
    scores = result.scores
    values: dict = {
        "dagster/row_count": scores.height,
        "method": result.method,
        "fallback": result.is_fallback,
        "reason": result.reason,
        "score_version": result.score_version,
        "model_version": config.model_version,
        "snapshot_date": result.snapshot_date.isoformat(),
        "training_window": f"{result.training_window[0]} .. {result.training_window[1]}",
        "holdout_auc": validation.auc if validation and validation.auc is not None else "n/a",
        "auc_floor": config.auc_floor,
        "potential_total": float(scores["potential"].sum()),
        "accounts_scored": scores.height,
        "scores_rest_on": result.rests_on,
    }
    markdown = {"top_accounts": top_accounts_markdown(scores, accounts)}
    if result.inputs is not None:
        values["inputs_missing"] = "; ".join(result.inputs.missing()) or "none"
        markdown["inputs"] = result.inputs.markdown()
    if validation is not None:
        values |= {
            "holdout_window": f"{validation.holdout_start} .. {validation.holdout_end}",
            "holdout_closed_opportunities": validation.n_holdout,
            "training_closed_opportunities": validation.n_train,
            "holdout_brier": float(validation.brier or 0.0),
        }
        markdown["calibration"] = calibration_markdown(validation.calibration)
    return StepSummary(
        values,
        markdown,
        {"model_card": result.model_card, "config": config.as_metadata()},
    )


def scoring_check_text(result: ScoringResult) -> str:
    if result.is_fallback:
        missing = "; ".join(result.inputs.missing()) if result.inputs else ""
        return f"rule-based fallback: {result.reason}" + (
            f". Missing inputs: {missing}. Scores rest on: {result.rests_on}" if missing else ""
        )
    return f"model published: {result.reason}"
