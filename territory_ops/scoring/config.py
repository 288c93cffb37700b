"""Published defaults of the potential model, its fallback and the workload rule.

One typed place for every parameter. The pipeline records ``ScoringConfig.as_metadata()`` with
each materialization, so a past plan can be explained with the parameters it was scored with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from territory_ops.dbt_vars import dbt_var

MODEL_VERSION = "potential-glm-v1"
# The fallback rule: rule_v1 (the revenue wallet of dbt_project.yml's ``rule_v1`` var, also
# computed in SQL as int_accounts_enriched.rule_potential) completed from whatever other
# inputs an export has (rules.py, docs/scoring.md "Fallback rule").
RULE_VERSION = "rule_v2"

# Factors as people read them, in the order the contribution columns are written.
FACTORS: tuple[str, ...] = (
    "industry_fit",
    "size",
    "growth",
    "intent",
    "engagement",
    "track_record",
)
FACTOR_LABELS: dict[str, str] = {
    "industry_fit": "industry fit",
    "size": "size",
    "growth": "growth",
    "intent": "intent surge",
    "engagement": "engagement",
    "track_record": "track record",
}


def _rule_growth_clamp() -> tuple[float, float]:
    low, high = dbt_var("rule_v1")["growth_clamp_pct"]
    return float(low), float(high)


@dataclass(frozen=True)
class WorkloadConfig:
    """Selling hours per year an account needs (docs/scoring.md, "Workload").

    An account is *in coverage* when a rep works it: an open opportunity, a win in the last
    three years (``won_count_3y``) or any activity in the last ``coverage_activity_days``.
    In coverage::

        workload_hours = account_hours[segment] + meetings_per_year[segment] * hours_per_meeting
                         + hours_per_active_opportunity * open opportunities

    Out of coverage (whitespace: owned for routing, nobody has touched it in a year)::

        workload_hours = whitespace_hours[segment]

    The defaults give 32 / 14 / 12 hours for an enterprise / mid-market / SMB account in
    coverage without open deals, plus 6 h per open deal, and 0.5 / 0.2 / 0.1 h for a
    whitespace account. A team's hours follow the accounts its reps work, not every account it
    owns: a book of the whole addressable market (hundreds of accounts per rep, most never
    touched) needs the hours of the accounts in play plus a little prospecting, not a full
    cadence for each. Calibrated on the sample (docs/scoring.md): its team runs at 85-95% of
    capacity_hours at 3,000 accounts / 40 reps and at 100k / 300 and 1M / 3,000, so a
    departure or a leave pushes a few reps over and the monthly pass has something to fix.
    ``coverage_activity_days=None`` plans every account in coverage (the rule before
    whitespace was told apart).
    """

    account_hours: dict[str, float] = field(
        default_factory=lambda: {"enterprise": 14.0, "mid_market": 5.0, "smb": 6.0}
    )
    meetings_per_year: dict[str, float] = field(
        default_factory=lambda: {"enterprise": 6.0, "mid_market": 3.0, "smb": 2.0}
    )
    hours_per_meeting: float = 3.0
    hours_per_active_opportunity: float = 6.0
    whitespace_hours: dict[str, float] = field(
        default_factory=lambda: {"enterprise": 0.5, "mid_market": 0.2, "smb": 0.1}
    )
    coverage_activity_days: int | None = 365
    # An account whose segment is unknown is planned like an SMB account.
    default_segment: str = "smb"


@dataclass(frozen=True)
class RuleConfig:
    """How the fallback rule completes thin inputs (docs/scoring.md, "Fallback rule").

    Calibrations come from the accounts that have both inputs (median ratio) once at least
    ``min_calibration_accounts`` do; the defaults below are used only when too few do.
    """

    # Revenue of an account that only has employees: employees x this (USD per employee).
    revenue_per_employee: float = 200_000.0
    # Revenue of an account that only has a funding total: funding x this.
    revenue_per_funding_dollar: float = 0.5
    min_calibration_accounts: int = 5
    # An account with no size input takes the typical size value of its segment (median of
    # the segment's accounts that have one), else of all accounts.
    # No account's size value falls below this share of the typical one (a $1 revenue typo).
    min_size_share_of_typical: float = 0.01
    # Typical size value when no account has any size input and none has a win.
    typical_floor: float = 10_000.0
    # Industry fit from the won history: the industry's share of accounts with a win vs. all
    # accounts', credibility-weighted with k pseudo-accounts, bounded.
    industry_credibility_k: float = 20.0
    industry_fit_bounds: tuple[float, float] = (0.5, 2.0)


@dataclass(frozen=True)
class ScoringConfig:
    """Parameters of the potential model (``potential.py``) and when it falls back."""

    model_version: str = MODEL_VERSION
    # Training window: closed opportunities of the last N years before the snapshot.
    training_window_years: float = 3.0
    # Time-based holdout: the newest N months of closes are held out to validate.
    holdout_months: int = 6
    # Publish the model only if the holdout AUC of the win propensity reaches this floor.
    auc_floor: float = 0.60
    # ... and only with at least this much closed history (else: "history too thin").
    min_closed_opportunities: int = 300
    min_holdout_per_class: int = 25
    # Regularization (inverse strength for the logistic model, alpha for the GLMs).
    logistic_c: float = 1.0
    ridge_alpha: float = 1.0
    poisson_alpha: float = 1e-3
    # Track record (credibility weights): an account's own history moves its score by
    # n / (n + k). None = estimate k from the data (recorded with the materialization).
    deal_size_credibility_k: float | None = None
    opportunity_rate_credibility_k: float = 2.0
    win_rate_credibility_k: float = 10.0
    # Bound on the track-record multiplier, in log space (|ln m| <= this).
    max_track_record_log: float = 1.5
    # Clamp for growth (%), as the rule does (dbt var ``rule_v1.growth_clamp_pct``).
    growth_clamp_pct: tuple[float, float] = field(default_factory=_rule_growth_clamp)
    # Intent and activity recency: e-folding times.
    surge_recency_weeks: float = 4.0
    activity_recency_days: float = 90.0
    # Sentences name at most this many factors.
    sentence_factors: int = 4
    # The published potential moves this share of the way toward each monthly fit
    # (smoothing.py): refits swing an account's fit far more than its business moves.
    # 1.0 publishes every fit as it is.
    update_share_per_month: float = 1 / 3
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)

    def as_metadata(self) -> dict[str, Any]:
        """Every parameter as plain JSON-able values."""
        out = asdict(self)
        out["growth_clamp_pct"] = list(self.growth_clamp_pct)
        out["rule"]["industry_fit_bounds"] = list(self.rule.industry_fit_bounds)
        return out
