"""With a CRM configured the pass job starts with a pull and the push has its own job; without
one the definitions are what they were (tests/pipelines' snapshot holds that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.crm import configured_crm
from territory_ops.settings import PROJECT_ROOT

PROBE = """
import json
from pipelines.definitions import defs
job = defs.resolve_job_def("territory_pass")
graph = defs.resolve_asset_graph()
raw = graph.get(__import__("dagster").AssetKey(["raw", "crm_accounts"]))
print(json.dumps({
    "pass_assets": sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys),
    "raw_accounts_parents": sorted(k.to_user_string() for k in raw.parent_keys),
    "jobs": sorted(j.name for j in defs.resolve_all_job_defs()),
    "schedules": {s.name: str(s.default_status) for s in defs.schedules},
}))
"""


def test_a_configured_crm_is_pulled_before_ingest_and_pushed_by_its_own_job() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_"))}
    env |= {"HUBSPOT_ACCESS_TOKEN": "pat-probe-not-used"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert "crm/pull" in probe["pass_assets"] and "crm/push" not in probe["pass_assets"]
    assert probe["raw_accounts_parents"] == ["crm/pull"]
    assert {"crm_pull", "crm_push", "territory_pass"} <= set(probe["jobs"])
    assert "STOPPED" in probe["schedules"]["crm_nightly_pull"]
    assert "RUNNING" in probe["schedules"]["crm_push_daily"]
    assert "pat-probe-not-used" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("env", "crm"),
    [
        ({}, None),
        ({"SALESFORCE_INSTANCE_URL": "https://x", "SALESFORCE_ACCESS_TOKEN": "t"}, "salesforce"),
        ({"SALESFORCE_INSTANCE_URL": "https://x"}, None),  # a URL alone signs nobody in
        (
            {
                "SALESFORCE_USERNAME": "u",
                "SALESFORCE_CONSUMER_KEY": "k",
                "SALESFORCE_PRIVATE_KEY_FILE": "/k.pem",
            },
            "salesforce",
        ),
        ({"HUBSPOT_ACCESS_TOKEN": "pat"}, "hubspot"),
    ],
)
def test_which_crm_is_configured(env: dict[str, str], crm: str | None) -> None:
    assert configured_crm(env) == crm
