"""A stand-in Salesforce org filled from the sample generator's last snapshot."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from territory_ops.crm.salesforce import READ_COLUMNS
from territory_ops.extracts.sample import generate_sample
from territory_ops.writeback.decisions import ensure_decisions_table
from tests.crm.fake_salesforce import FakeOrg, FakeSalesforce
from tests.notify.conftest import fake_slack  # noqa: F401  (the Slack stand-in, for the cycle)

SAMPLE_AS_OF = date(2026, 11, 30)


def _json_value(text: str) -> Any:
    # What the REST API returns: null for empty, JSON booleans; numbers stay as text here,
    # which the landing file writes the same way.
    if text == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+Z", text):
        return text.removesuffix("Z") + "+0000"  # the REST API's datetime form
    return {"true": True, "false": False}.get(text, text)


@pytest.fixture(scope="session")
def sample_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, 100, 8, 1, 42, SAMPLE_AS_OF, None)
    folder = out / SAMPLE_AS_OF.isoformat()
    records = {}
    for sobject in READ_COLUMNS:
        with (folder / f"{sobject}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        records[sobject] = [{k: _json_value(v) for k, v in row.items()} for row in rows]
    return records


@pytest.fixture
def org(sample_records: dict[str, list[dict[str, Any]]]) -> FakeOrg:
    return FakeOrg(
        records={k: [dict(r) for r in v] for k, v in sample_records.items()},
        # every field of the contract exists in this org, also those the sample leaves out
        fields={k: list(dict.fromkeys(("Id", *v))) for k, v in READ_COLUMNS.items()},
    )


@pytest.fixture
def salesforce(
    org: FakeOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSalesforce]:
    tls = tmp_path / "tls"
    tls.mkdir()
    with FakeSalesforce(tls, org) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert_path))
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", server.url)
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", org.token)
        monkeypatch.delenv("SALESFORCE_API_VERSION", raising=False)
        yield server


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh warehouse with the decisions log, for proposals to approve and push."""
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_decisions_table(connection)
    yield connection
    connection.close()
