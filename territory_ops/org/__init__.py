"""The sales organisation: who reports to whom, at which level, in which role.

Built from the roster's manager chain (CRM users with their ``ManagerId``), to any depth: rep →
manager → director → VP. Roll-ups, per-level digests, decision rights and overlay pods all read
the same :class:`~territory_ops.org.chart.OrgChart`, so "whose team is this account in" has one
answer everywhere.
"""

from territory_ops.org.chart import OrgChart, OrgNode, OrgProblem
from territory_ops.org.roles import (
    ACCOUNT_EXECUTIVE,
    MANAGER,
    OVERLAY_ROLES,
    SALES_ROLES,
)

__all__ = [
    "ACCOUNT_EXECUTIVE",
    "MANAGER",
    "OVERLAY_ROLES",
    "SALES_ROLES",
    "OrgChart",
    "OrgNode",
    "OrgProblem",
]
