"""Library summaries (``territory_ops.metadata.StepSummary``) as Dagster metadata."""

from typing import Any

import dagster as dg

from territory_ops.metadata import StepSummary


def to_metadata(summary: StepSummary) -> dict[str, Any]:
    return {
        **summary.values,
        **{k: dg.MetadataValue.md(v) for k, v in summary.markdown.items()},
        **{k: dg.MetadataValue.json(v) for k, v in summary.json.items()},
    }
