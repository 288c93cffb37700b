"""What a run of the territory pass reports back, in plain values.

The job runs in ``pipelines`` (Dagster); interfaces such as the CLI read this outcome without
importing the orchestration layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str  # success | failure | skipped | not_run
    message: str = ""


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str  # ERROR | WARN
    description: str
    metadata: dict


@dataclass(frozen=True)
class PassOutcome:
    run_id: str
    success: bool
    steps: list[StepOutcome]
    failures: list[StepOutcome]
    log_path: Path | None = None
    checks: list[CheckOutcome] = field(default_factory=list)
