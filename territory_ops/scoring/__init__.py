"""Account potential (model with exact factor contributions, or the documented rule) and workload.

Entry point: ``score_accounts(accounts, opportunities, config)`` (potential.py).
"""

from territory_ops.scoring.config import FACTORS, ScoringConfig, WorkloadConfig
from territory_ops.scoring.potential import (
    METHOD_MODEL,
    METHOD_RULE_FALLBACK,
    ScoringResult,
    calibration_markdown,
    score_accounts,
)

__all__ = [
    "FACTORS",
    "METHOD_MODEL",
    "METHOD_RULE_FALLBACK",
    "ScoringConfig",
    "ScoringResult",
    "WorkloadConfig",
    "calibration_markdown",
    "score_accounts",
]
