"""Which scoring inputs an export has, and what the published scores rest on.

A run on a thin export must say so: the scoring summary lists every input with the number
of accounts that have it, names the ones that are missing (and what that costs), and for the
rule says which input each account's size came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from territory_ops.formatting import percent

# input -> (column, what scoring uses it for); numbers count when > 0, text when not empty.
ACCOUNT_INPUTS: dict[str, tuple[str, str]] = {
    "revenue": ("company_revenue", "size"),
    "employees": ("effective_employees", "size"),
    "funding": ("funding_total_usd", "size when revenue and employees are missing"),
    "industry": ("industry", "industry fit"),
    "growth": ("revenue_growth_pct", "growth"),
    "intent": ("intent_score_recent", "intent surge"),
    "won deals": ("won_count_3y", "track record, industry fit (rule)"),
}
SIZE_SOURCE_LABELS: dict[str, str] = {
    "revenue": "revenue",
    "employees": "employees x revenue per employee",
    "funding": "funding x revenue per funding dollar",
    "segment_typical": "no size input: the typical account of its segment",
}


@dataclass(frozen=True)
class InputCoverage:
    accounts: int
    with_input: dict[str, int]  # input -> accounts that have it
    closed_won: int  # closed opportunities in the training window
    closed_lost: int

    def missing(self) -> list[str]:
        """One sentence per input that is absent or thin (under half of the accounts)."""
        out = []
        for name, n in self.with_input.items():
            if n == 0:
                out.append(f"{name}: no account has it ({ACCOUNT_INPUTS[name][1]} not used)")
            elif n < self.accounts / 2 and name != "won deals":  # wins are rare by nature
                out.append(
                    f"{name}: {self.accounts - n:,} of {self.accounts:,} accounts without it"
                )
        if self.closed_lost == 0:
            out.append(
                "lost deals: none in the training window (win rates cannot be learned or "
                "validated: the model is not published)"
            )
        if self.closed_won == 0:
            out.append("won deals: none in the training window (no track record)")
        return out

    def markdown(self) -> str:
        lines = ["| input | accounts with it | share | used for |", "|---|---:|---:|---|"]
        for name, n in self.with_input.items():
            share = percent(n / self.accounts) if self.accounts else "n/a"
            lines.append(f"| {name} | {n:,} | {share} | {ACCOUNT_INPUTS[name][1]} |")
        lines.append(
            f"| closed won / lost deals in the window | {self.closed_won:,} / "
            f"{self.closed_lost:,} | | win propensity, deal size |"
        )
        return "\n".join(lines)


def _present(frame: pl.DataFrame, column: str) -> int:
    if column not in frame.columns:
        return 0
    values = frame[column]
    if values.dtype == pl.Utf8:
        return int((values.fill_null("").str.strip_chars() != "").sum())
    numbers = values.cast(pl.Float64, strict=False).fill_nan(None).fill_null(0.0)
    return int((numbers > 0).sum())


def input_coverage(accounts: pl.DataFrame, closed: pl.DataFrame) -> InputCoverage:
    """Inputs per account, and the closed deals of the training window (``is_won``)."""
    won = int(closed["is_won"].cast(pl.Int64).sum()) if closed.height else 0
    return InputCoverage(
        accounts=accounts.height,
        with_input={name: _present(accounts, col) for name, (col, _) in ACCOUNT_INPUTS.items()},
        closed_won=won,
        closed_lost=closed.height - won,
    )


def rests_on(scores: pl.DataFrame) -> str:
    """What the rule's size values rest on: 'revenue 41% · employees ... 30% · ...'."""
    if "size_source" not in scores.columns or scores.height == 0:
        return "the model (every input above, as its coefficients weigh them)"
    counts = dict(scores.group_by("size_source").len().iter_rows())
    return "; ".join(
        f"size from {SIZE_SOURCE_LABELS[s]}: {counts[s]:,} ({percent(counts[s] / scores.height)})"
        for s in SIZE_SOURCE_LABELS
        if counts.get(s)
    )
