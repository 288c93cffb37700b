"""Territory optimizer: hard rules, balance band, travel, bounded disruption, certificate.

Entry point: :func:`territory_ops.optimize.api.optimize`.
"""

from territory_ops.optimize.api import OptimizeOptions, optimize
from territory_ops.optimize.instance import HardRuleInfeasible, ObjectiveWeights
from territory_ops.optimize.result import PlanResult
from territory_ops.optimize.tables import InputError

__all__ = [
    "HardRuleInfeasible",
    "InputError",
    "ObjectiveWeights",
    "OptimizeOptions",
    "PlanResult",
    "optimize",
]
