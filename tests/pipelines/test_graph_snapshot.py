"""Snapshot of the Dagster graph: asset keys, checks, jobs, schedules, sensors, resources.

An accidental change to the graph (a renamed dbt model, a lost check, a schedule that no
longer runs by itself) shows up as a diff of definitions_snapshot.json in review. After an
intended change, regenerate the file and commit it with the change::

    UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/pipelines/test_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipelines.definitions import defs

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def graph_description() -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
        }
    checks = sorted(
        f"{c.asset_key.to_user_string()}:{c.name}" + (" (blocking)" if spec_blocking(c) else "")
        for c in graph.asset_check_keys
    )
    jobs = sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__"))
    schedules = {
        s.name: {
            "job": s.job_name,
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "default_status": s.default_status.value,
        }
        for s in defs.schedules or []
    }
    sensors = {
        s.name: {"job": s.job_name, "default_status": s.default_status.value}
        for s in defs.sensors or []
    }
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": sorted((defs.resources or {}).keys()),
    }


def spec_blocking(check_key) -> bool:
    graph = defs.resolve_asset_graph()
    spec = graph.get_check_spec(check_key)
    return bool(spec.blocking)


def test_the_graph_matches_the_committed_snapshot():
    current = json.dumps(graph_description(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(current)
    committed = SNAPSHOT.read_text()
    assert current == committed, (
        "The Dagster graph changed. If intended, run "
        "`UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/pipelines/test_graph_snapshot.py` and commit "
        f"{SNAPSHOT.name} with the change."
    )
