"""Where a proposal stands: the one list of ``plans.proposals.status`` values.

Python compares against these members and SQL receives them as parameters, so a status is
spelled in exactly one place. A ``StrEnum`` member is its value (``ProposalStatus.OPEN ==
"open"``), so frames and query results need no conversion.
"""

from __future__ import annotations

from enum import StrEnum


class ProposalStatus(StrEnum):
    OPEN = "open"  # proposed by the latest published pass, waiting for a decision
    SUPERSEDED = "superseded"  # a later pass published before anyone decided
    APPROVED = "approved"  # a lock for later passes until written back
    REJECTED = "rejected"  # not proposed again unless its inputs change
    APPEALED = "appealed"  # a rep challenged it; held until RevOps decides
    EXPORTED = "exported"  # written to a CRM import file; the next snapshot confirms it
    APPLIED = "applied"  # pushed through the CRM's API; the next pull confirms it
    CONFIRMED = "confirmed"  # a later snapshot shows the new owner: the change is done
    REVERTED = "reverted"  # a later snapshot shows another owner: someone changed it back
