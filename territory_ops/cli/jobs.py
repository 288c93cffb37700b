"""The one seam between the command line and the orchestration layer that runs jobs.

``territory-ops run`` runs the scheduled Dagster job in process, but the library must not
import ``pipelines``. The runner is a plugin instead: an entry point in the
``territory_ops.job_runner`` group (declared in pyproject.toml, installed by ``make setup``)
names a callable with the :class:`JobRunner` signature.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from territory_ops.pass_outcome import PassOutcome
    from territory_ops.settings import Settings

JOB_RUNNER_GROUP = "territory_ops.job_runner"
TERRITORY_PASS = "territory_pass"


class JobRunner(Protocol):
    def __call__(
        self, landing: Path, settings: Settings, pass_settings: dict | None = None
    ) -> PassOutcome:
        """Run the territory pass over ``landing``; ``pass_settings`` override passes.yaml."""
        ...


class JobRunnerMissing(RuntimeError):
    """No installed package provides the job runner (the project is not installed)."""


class InstanceUnreachable(RuntimeError):
    """The Dagster instance the run would land in cannot be opened (its database is down or
    misconfigured); the message names the setting."""


def find_job_runner(name: str = TERRITORY_PASS) -> JobRunner:
    """The runner registered under ``name`` in the ``territory_ops.job_runner`` group."""
    found = entry_points(group=JOB_RUNNER_GROUP, name=name)
    if not found:
        raise JobRunnerMissing(
            f"no job runner {name!r} is installed (entry point group {JOB_RUNNER_GROUP}); "
            "install the project with `make setup`"
        )
    if len(found) > 1:
        where = ", ".join(sorted(ep.value for ep in found))
        raise JobRunnerMissing(f"more than one job runner {name!r} is installed: {where}")
    (entry,) = found
    return entry.load()
