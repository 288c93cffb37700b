"""One entry point for a pull from either CRM: the snapshot and its rows per object.

The command line and the Dagster pull asset both land a snapshot through :func:`pull_crm`
and then record it (``territory_ops.crm.ledger.record_pull``) so ``crm status`` can say when
the last pull ran and how many records it brought; the warehouse is not held while the CRM
is read.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

OBJECTS = ("Account", "User", "Opportunity")


@dataclass(frozen=True)
class Pulled:
    folder: Path
    counts: dict[str, int]  # rows per object


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1  # a street may span lines


def pull_crm(
    crm: str,
    out_dir: Path | str,
    as_of: date,
    env: Mapping[str, str],
    *,
    feeds: Mapping[str, Path] | None = None,
    keep_existing: bool = True,
    **options: object,
) -> Pulled | None:
    """Land ``out_dir/<as_of>/`` from ``crm``; None when ``keep_existing`` and it is there.

    ``options`` go to the Salesforce pull (``fields``, ``bulk``). Raises CrmPullError and
    lands nothing when the pull cannot finish.
    """
    out_dir = Path(out_dir)
    if keep_existing and (out_dir / as_of.isoformat()).exists():
        return None
    if crm == "salesforce":
        from territory_ops.crm.salesforce import pull_salesforce

        folder = pull_salesforce(out_dir, as_of, env, feeds=feeds, **options)  # type: ignore[arg-type]
    else:
        from territory_ops.crm.hubspot import pull_hubspot

        folder, _ = pull_hubspot(out_dir, as_of, env, feeds=feeds)
    return Pulled(folder, {name: _rows(folder / f"{name}.csv") for name in OBJECTS})
