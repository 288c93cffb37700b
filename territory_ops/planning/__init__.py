"""The planning loop over the optimizer's output: pass settings, the plan record, drift,
proposals and their store. Plain functions over Polars frames; no Dagster imports."""
