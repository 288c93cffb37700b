"""The errors a CRM connector raises: each message names what to fix, never a secret."""

from __future__ import annotations


class CrmError(RuntimeError):
    """The CRM could not be read from or written to; the message says why."""


class CrmPushError(CrmError):
    """A push the CRM could not take (unreachable, or the whole job refused); what was not
    applied stays approved and is sent again by the next push."""


class JobRefused(CrmPushError):
    """The CRM ended a whole job in failure; ``outcomes`` holds what it said per record."""

    def __init__(self, message: str, outcomes: list) -> None:
        super().__init__(message)
        self.outcomes = outcomes
