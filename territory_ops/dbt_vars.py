"""Rules shared by SQL and Python live once, as vars in ``dbt_project/dbt_project.yml``.

dbt models read them with ``var('...')``; Python reads the same file here. Changing a rule is
one edit, and tests/test_shared_rules.py fails if either side stops reading the var.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from territory_ops.settings import DBT_PROJECT_DIR

DBT_PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"


@cache
def dbt_vars() -> dict[str, Any]:
    project = yaml.safe_load(DBT_PROJECT_FILE.read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def dbt_var(name: str) -> Any:
    try:
        return dbt_vars()[name]
    except KeyError:
        raise KeyError(f"{DBT_PROJECT_FILE} has no var '{name}'") from None
