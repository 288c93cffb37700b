"""What-if planning over the canonical tables: scenarios, coverage gaps and hiring, quotas,
expected win rates. Plain functions over Polars frames; no Dagster imports."""
