"""Write CSV files that are safe to open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"). Such cells get a
leading apostrophe, which spreadsheets show as plain text. Only text columns are touched:
numeric columns (including negative numbers) are written as they are.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: str | None) -> str | None:
    """Return ``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if value is None or value == "":
        return value
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Neutralise every text column of ``df``; other columns are returned unchanged."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8:
            col = pl.col(name)
            exprs.append(
                pl.when(col.str.contains(r"^[=+\-@\t\r]"))
                .then(pl.lit("'") + col)
                .otherwise(col)
                .alias(name)
            )
    return df.with_columns(exprs) if exprs else df


def write_csv_safe(df: pl.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as UTF-8 CSV with formula-injection neutralisation; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralize_frame(df).write_csv(path, line_terminator="\n")
    return path
