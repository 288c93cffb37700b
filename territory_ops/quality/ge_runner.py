"""Run a suite's Great Expectations expectations on a pandas frame and return ``Finding``s.

GE 1.x has no DuckDB datasource that works with duckdb 2.0, so the gate queries one load into
pandas and validates the frame with an ephemeral context, a pandas datasource and a
whole-dataframe batch definition. Great Expectations is imported here, lazily (it is slow).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from territory_ops.quality.findings import Finding, plain, plain_examples
from territory_ops.quality.suites import Suite, build_gx_suite


@cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("territory_ops_frames")
    asset = source.add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


_GX_SUITES: dict[tuple[str, str], Any] = {}


def _gx_suite(suite: Suite):
    key = (str(suite.path), suite.name)
    if key not in _GX_SUITES:
        _GX_SUITES[key] = build_gx_suite(suite)
    return _GX_SUITES[key]


def validate_frame(
    suite: Suite,
    frame,
    *,
    file: str,
    parameters: dict[str, Any] | None = None,
    extract: str | None = None,
    load_id: str | None = None,
) -> tuple[list[Finding], int]:
    """Validate ``frame`` against ``suite``: (findings of failed expectations, number evaluated)."""
    index_columns = [c for c in suite.index_columns if c in frame.columns]
    result_format: dict[str, Any] = {"result_format": "COMPLETE"}
    if index_columns:
        result_format["unexpected_index_column_names"] = index_columns
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    results = batch.validate(
        _gx_suite(suite), expectation_parameters=parameters or {}, result_format=result_format
    )
    findings = []
    for result in results.results:
        if result.success:
            continue
        findings.append(
            _finding(suite, result, file=file, extract=extract, load_id=load_id, rows=len(frame))
        )
    findings.sort(key=lambda f: (f.severity != "error", f.column or "", f.expectation))
    return findings, len(results.results)


def _finding(suite: Suite, result, *, file: str, extract, load_id, rows: int) -> Finding:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    meta = dict(config.meta or {})
    column = kwargs.get("column") or ", ".join(kwargs.get("column_list", []) or []) or None
    info = result.result or {}
    description = meta.get("description") or config.type.replace("_", " ")
    raised = (result.exception_info or {}).get("raised_exception")
    count = info.get("unexpected_count")
    if raised:
        observed = "not evaluated"
        message = (
            f"{description}: could not be evaluated "
            f"({(result.exception_info or {}).get('exception_message', '')[:200]})"
        )
    elif count is not None:
        observed = f"{count} of {info.get('element_count', rows)} rows"
        share = info.get("unexpected_percent")
        mostly = kwargs.get("mostly")
        limit = f" (allowed up to {100 * (1 - mostly):.0f}%)" if mostly is not None else ""
        pct = f", {share:.1f}%" if share is not None else ""
        message = f"{description}: {count} row(s) fail{pct}{limit}"
    else:
        value = plain(info.get("observed_value"))
        details = info.get("details", {}).get("mismatched") if info.get("details") else None
        if details:
            value = f"missing {details.get('missing')}"
        observed = str(value)
        message = f"{description}: observed {value}"
    examples = info.get("partial_unexpected_index_list") or info.get("unexpected_index_list") or []
    if not examples and info.get("partial_unexpected_list"):
        examples = [{column or "value": v} for v in info["partial_unexpected_list"]]
    reason = meta.get("quarantine_reason")
    rows = _failing_rows(info, column) if reason else ()
    if rows:  # the offending value beside the line: the row can be found and judged
        examples = list(rows)
    return Finding(
        suite=suite.name,
        expectation=config.type,
        severity=meta.get("severity", "error"),
        file=file,
        column=column,
        observed=observed,
        message=message,
        examples=plain_examples(examples),
        unexpected_count=int(count) if count is not None else None,
        extract=extract,
        load_id=load_id,
        quarantine=meta.get("quarantine"),
        quarantine_reason=reason if rows else None,
        rows=rows,
    )


def _failing_rows(info: dict, column: str | None) -> tuple[dict[str, Any], ...]:
    """Every failing row (index columns and the value) of a column expectation."""
    index = info.get("unexpected_index_list") or []
    values = info.get("unexpected_list") or []
    if not index or len(index) != len(values) or not isinstance(index[0], dict):
        return ()
    name = column or "value"
    return tuple(
        {**{k: plain(v) for k, v in i.items() if k != name}, name: plain(value)}
        for i, value in zip(index, values, strict=True)
    )
