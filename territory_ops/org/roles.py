"""Sales roles as the roster's ``Sales_Role__c`` field spells them.

``rep`` is an account executive: owns accounts in the primary plan. ``manager`` leads people
(first-line managers, directors, VPs alike: their level comes from the manager chain, not the
role). Overlay roles cover whole account-executive territories (pods) in a second layer.
"""

from __future__ import annotations

ACCOUNT_EXECUTIVE = "rep"
MANAGER = "manager"
SOLUTIONS_ENGINEER = "se"
CUSTOMER_SUCCESS = "csm"
SPECIALIST = "specialist"

OVERLAY_ROLES: tuple[str, ...] = (SOLUTIONS_ENGINEER, CUSTOMER_SUCCESS, SPECIALIST)
SALES_ROLES: tuple[str, ...] = (ACCOUNT_EXECUTIVE, MANAGER, *OVERLAY_ROLES)

# Salesforce's AccountTeamMember.TeamMemberRole picklist labels for the overlay roles
TEAM_MEMBER_ROLE: dict[str, str] = {
    SOLUTIONS_ENGINEER: "Sales Engineer",
    CUSTOMER_SUCCESS: "Customer Success Manager",
    SPECIALIST: "Specialist",
}


def is_overlay(role: str | None) -> bool:
    return (role or "").strip().lower() in OVERLAY_ROLES
