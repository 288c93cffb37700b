"""Proposal statuses are spelled once (``ProposalStatus``): SQL gets them as parameters."""

from __future__ import annotations

import re
from pathlib import Path

from territory_ops.planning.status import ProposalStatus

LIBRARY = Path(__file__).resolve().parents[2] / "territory_ops"
# a quoted status beside ``status`` in SQL: status = 'open', status in ('approved', ...)
SQL_LITERAL = re.compile(
    r"status\s*(?:=|<>|!=|\bin\b)\s*\(?\s*'(" + "|".join(ProposalStatus) + r")'", re.I
)


# the outbox has statuses of its own (notify.outbox.OUTBOX_STATUSES), one of them "superseded"
OTHER_STATUSES = {LIBRARY / "notify" / "outbox.py"}


def test_no_sql_in_the_loop_retypes_a_proposal_status() -> None:
    found = [
        f"{path.relative_to(LIBRARY)}: {match.group(0)}"
        for package in ("planning", "writeback", "notify")
        for path in sorted((LIBRARY / package).rglob("*.py"))
        if path not in OTHER_STATUSES
        for match in SQL_LITERAL.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_a_status_is_its_value() -> None:
    assert [str(s) for s in ProposalStatus] == [
        "open",
        "superseded",
        "approved",
        "rejected",
        "appealed",
        "exported",
        "applied",
        "confirmed",
        "reverted",
    ]
    assert ProposalStatus("approved") is ProposalStatus.APPROVED
