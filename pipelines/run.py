"""Run the territory pass job on the project's Dagster instance, on the job's own executor.

This is what ``territory-ops run`` calls: the very job the schedule and sensor start, so the
command line never becomes a second pipeline. Runs show up in the Dagster UI. The CLI finds
:func:`run_territory_pass` through the ``territory_ops.job_runner`` entry point
(pyproject.toml), so the library never imports this package.

The job is handed over reconstructable (``dg.execute_job``), so its executor starts each step
in a process of its own, as a daemon-launched run does; the process count defaults to the
usable cores (``TERRITORY_OPS_MAX_CONCURRENT`` sets it).
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.execution.execution_result import ExecutionResult

from pipelines.instance import open_instance
from territory_ops.pass_outcome import CheckOutcome, PassOutcome, StepOutcome
from territory_ops.settings import Settings, ensure_dagster_home

# workspace.yaml's location; the UI lists a job's runs by this label (".dagster/repository")
CODE_LOCATION = "territory-ops"
REPOSITORY_LABEL = f"__repository__@{CODE_LOCATION}"


def run_tags(tags: dict[str, str] | None = None) -> dict[str, str]:
    """Tags that make an in-process run show under its job in the UI, like daemon runs."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    return {REPOSITORY_LABEL_TAG: REPOSITORY_LABEL, **(tags or {})}


def _pass_job_on(executor: str) -> dg.JobDefinition:
    from pipelines.definitions import defs
    from pipelines.jobs import TERRITORY_PASS_JOB, pass_executor

    job = defs.resolve_job_def(TERRITORY_PASS_JOB)
    wanted = pass_executor(executor)
    return job if job.executor_def is wanted else job.with_executor_def(wanted)


def territory_pass_job() -> dg.JobDefinition:
    """The pass job as the definitions resolve it, on the executor the environment names
    (``TERRITORY_OPS_EXECUTOR``); each step process rebuilds it from here."""
    return _pass_job_on(Settings.from_env().executor)


# Dagster keeps a reconstructable job's definition once per process: one target per executor,
# so a process may run the pass in process and step by step without mixing the two up.
def territory_pass_job_in_process() -> dg.JobDefinition:
    return _pass_job_on("in_process")


def territory_pass_job_multiprocess() -> dg.JobDefinition:
    return _pass_job_on("multiprocess")


def _reconstructable_pass_job(executor: str):
    target = {
        "in_process": territory_pass_job_in_process,
        "multiprocess": territory_pass_job_multiprocess,
    }.get(executor, territory_pass_job)
    return dg.reconstructable(target)


def usable_cores() -> int:
    """Cores this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def execution_config(settings: Settings) -> dict:
    """The multiprocess executor's config: one step process per usable core unless told, and
    step processes forked from a server that has the definitions loaded already (a spawned
    process would import Dagster, dbt's manifest and the optimizer again for every step)."""
    if settings.executor != "multiprocess":
        return {}
    return {
        "execution": {
            "config": {
                "max_concurrent": settings.max_concurrent or usable_cores(),
                "start_method": {"forkserver": {"preload_modules": ["pipelines.definitions"]}},
            }
        }
    }


def run_config_for(
    landing: Path,
    settings: Settings,
    log_level: str = "WARNING",
    pass_settings: dict | None = None,
) -> dict:
    """Point the job's resources at a landing folder and a home (tests use temporary ones).

    Every path the run uses travels here, as resource config: the warehouse (dbt gets it from
    the warehouse resource), the archive and the alert outbox. ``pass_settings`` overrides
    config/passes.yaml for this run (e.g. ``{"pass_kind": "full"}``).
    """
    config: dict = {
        "resources": {
            "landing": {"config": {"path": str(landing.resolve())}},
            "warehouse": {
                "config": {
                    "database": str(settings.duckdb_path),
                    "archive_dir": str(settings.archive_dir),
                }
            },
            "alerts": {"config": {"outbox_dir": str(settings.outbox_dir)}},
        },
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    if pass_settings:
        config["ops"] = {"territory_plan": {"config": dict(pass_settings)}}
    return {**config, **execution_config(settings)}


def run_territory_pass(
    landing: Path,
    settings: Settings | None = None,
    pass_settings: dict | None = None,
    tags: dict[str, str] | None = None,
) -> PassOutcome:
    settings = settings or Settings.from_env()
    validate_pass_settings(landing, pass_settings)
    dagster_home = ensure_dagster_home(settings)
    # dbt writes its progress to stdout and each step process its start to stderr: keep them
    # in a log file, not on the user's screen (the outcome says what happened).
    log_path = settings.home / "logs" / f"territory_pass-{datetime.now():%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        open_instance(dagster_home) as instance,
        log_path.open("w", encoding="utf-8") as log,
        output_to(log),
    ):
        result = dg.execute_job(
            _reconstructable_pass_job(settings.executor),
            instance=instance,
            run_config=run_config_for(landing, settings, pass_settings=pass_settings),
            tags=run_tags(tags),
            raise_on_error=False,
        )
        return _outcome(result, log_path)


@contextmanager
def output_to(log: TextIO) -> Iterator[None]:
    """Standard output and error into ``log`` for this process and the step processes it
    starts (they inherit the file descriptors, not ``sys.stdout``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    for fd in saved:
        os.dup2(log.fileno(), fd)
    try:
        with redirect_stdout(log):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)


def validate_pass_settings(landing: Path, pass_settings: dict | None) -> None:
    """Fail before any step runs on an unknown key or an impossible value (names the key)."""
    from territory_ops.planning.config import load_pass_config, validate_pass_config
    from territory_ops.planning.landing import newest_account_count

    config = load_pass_config(overrides=pass_settings)
    validate_pass_config(config, newest_account_count(landing))


def _outcome(result: "ExecutionResult", log_path: Path) -> PassOutcome:
    steps: list[StepOutcome] = []
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            steps.append(StepOutcome(event.step_key or "", "success"))
        elif event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error if event.step_failure_data else None
            user = event.step_failure_data.user_failure_data if event.step_failure_data else None
            message = (user.description if user and user.description else None) or (
                error.message.strip() if error else ""
            )
            steps.append(StepOutcome(event.step_key or "", "failure", message))
        elif event.event_type_value == "STEP_SKIPPED":
            steps.append(StepOutcome(event.step_key or "", "skipped"))
    # Steps downstream of a failure never start (the executor emits no event for them); a
    # graph-backed asset's steps are "node.op" (mapped ones "node.op[part]"), and the node is
    # reported by name when none of them ran.
    named = {s.step for s in steps}
    ran = {s.step.split(".")[0] for s in steps if s.status in ("success", "failure")}
    steps += [
        StepOutcome(node.name, "not_run")
        for node in result.job_def.nodes
        if node.name not in named and node.name not in ran
    ]
    failures = [s for s in steps if s.status == "failure"]
    checks = [
        CheckOutcome(
            asset=e.asset_key.to_user_string(),
            check=e.check_name,
            passed=e.passed,
            severity=e.severity.value,
            description=e.description or "",
            metadata={k: getattr(v, "value", v) for k, v in e.metadata.items()},
        )
        for e in result.get_asset_check_evaluations()
    ]
    return PassOutcome(result.run_id, result.success, steps, failures, log_path, checks)
