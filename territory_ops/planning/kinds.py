"""Proposal kinds: the reason codes a proposal may carry (``plans.proposals.reason_code``).

The optimizer's rationale (``territory_ops.optimize.rationale``) names why a row moved; the
pass renames ``new_account`` to ``new`` and adds leave covers, hand-backs and pins
(``territory_ops.planning.plan``, ``territory_ops.planning.locks``). Settings that name kinds
(``effective_dates``, ``routing`` in config/passes.yaml) are checked against this list.
"""

from __future__ import annotations

# an account without an active owner gets one: it cannot wait for a balance decision
PLACEMENT_KINDS: tuple[str, ...] = ("new", "orphaned")
# temporary owner while the owner is on leave, and the hand-back when they return
LEAVE_KINDS: tuple[str, ...] = ("cover", "return")
# moves a manager weighs: the owner is active and could keep the account
DISCRETIONARY_KINDS: tuple[str, ...] = (
    "family",
    "eligibility",
    "travel",
    "balance",
    "capacity",
    "rebalance",
    "pin",
)
PROPOSAL_KINDS: tuple[str, ...] = (*PLACEMENT_KINDS, *LEAVE_KINDS, *DISCRETIONARY_KINDS)
