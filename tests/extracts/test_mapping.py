"""Source mappings (docs/mappings.md): translation, the Salesforce identity, and one test per
kind of mistake (each names the mapping file, its line and the column, before anything lands)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territory_ops.extracts.ingest import land_extract
from territory_ops.extracts.mapping import MappingError, translate
from territory_ops.extracts.spec import EXTRACTS
from tests.extracts.mapping_edits import edited, mapping_error

ROOT = Path(__file__).resolve().parents[2]
HUBSPOT = ROOT / "mappings" / "hubspot.yaml"
SALESFORCE = ROOT / "mappings" / "salesforce.yaml"
FIXTURE = Path(__file__).parent / "fixtures" / "hubspot"
# the HubSpot translation geocodes: share the worker that builds the geocoder's cache
pytestmark = pytest.mark.xdist_group("geocoder")


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    return edited(HUBSPOT, tmp_path, old, new)


def _error(path: Path, export: Path = FIXTURE) -> MappingError:
    return mapping_error(path, export)


def test_hubspot_export_translates_to_the_landing_contract(tmp_path: Path) -> None:
    result = translate(HUBSPOT, FIXTURE, tmp_path / "landing")
    snapshot = tmp_path / "landing" / "2026-10-31"
    assert sorted(p.name for p in snapshot.glob("*.csv")) == sorted(e.file_name for e in EXTRACTS)
    accounts = (snapshot / "Account.csv").read_text().splitlines()
    header = accounts[0].split(",")
    rows = {r.split(",")[0]: dict(zip(header, r.split(","), strict=True)) for r in accounts[1:]}
    # rename, value map with default, date format, bands
    assert rows["101"]["Industry"] == "Technology" and rows["104"]["Industry"] == "Retail"
    assert rows["101"]["CreatedDate"] == "2021-03-04T10:15:00"
    assert [rows[i]["Size_Band__c"] for i in ("101", "102", "105")] == [
        "enterprise",
        "smb",
        "mid_market",
    ]
    # the geocoding ladder, one row per rung
    assert {i: rows[i]["Geo_Precision__c"] for i in rows} == {
        "101": "postal",
        "102": "city",
        "103": "region",
        "104": "country",
        "105": "none",
    }
    assert rows["105"]["BillingLatitude"] == ""
    assert result.geo_precision["crm_accounts"]["none"] == 1
    opportunities = (snapshot / "Opportunity.csv").read_text()
    assert "5001,101,9001,Closed Won,120000,2026-06-30,true,true" in opportunities
    assert "5004,105,9002,Qualification,30000,2027-01-31,false,false" in opportunities


def test_salesforce_mapping_ingests_the_sample_identically(
    sample_landing: Path, tmp_path: Path
) -> None:
    translated = translate(SALESFORCE, sample_landing, tmp_path / "mapped")
    assert len(translated.snapshots) == 2

    def land(folder: Path, name: str) -> dict[str, list]:
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        tables = {}
        for spec in EXTRACTS:
            land_extract(con, folder, spec, tmp_path / f"archive_{name}")
            tables[spec.name] = con.execute(
                f"select * exclude (_load_id) from raw.{spec.raw_table} "
                "order by _snapshot_date, _row_number"
            ).fetchall()
        con.close()
        return tables

    direct, mapped = land(sample_landing, "direct"), land(tmp_path / "mapped", "mapped")
    assert direct == mapped  # same rows, same content hashes, same line numbers
    assert sum(len(rows) for rows in direct.values()) > 1000


def test_unknown_column_names_file_line_and_column(tmp_path: Path) -> None:
    path, line = _broken(tmp_path, "Website: Company Domain Name", "Website: Company Domian")
    err = _error(path)
    assert [(p.line, p.column) for p in err.problems] == [(line, "Website")]
    assert f"{path}, line {line}, column 'Website'" in str(err)
    assert "unknown column 'Company Domian' in companies.csv" in str(err)


def test_impossible_type_name_and_unparsable_values(tmp_path: Path) -> None:
    path, line = _broken(
        tmp_path, "{column: Amount, type: number}", "{column: Amount, type: money}"
    )
    err = _error(path)
    assert (err.problems[0].line, err.problems[0].column) == (line, "Amount")
    assert "type 'money' is not one of" in str(err)

    path, line = _broken(tmp_path, "Name: Deal Name", "Name: {column: Deal Name, type: integer}")
    err = _error(path)
    assert (err.problems[0].line, err.problems[0].column) == (line, "Name")
    assert "type integer is impossible for 4 of 4 value(s) of 'Deal Name'" in str(err)
    assert "'Northwind renewal'" in str(err)


def test_wrong_date_format_is_an_impossible_type(tmp_path: Path) -> None:
    path, line = _broken(
        tmp_path,
        'CloseDate: {column: Close Date, type: date, format: "%Y-%m-%d %H:%M"}',
        'CloseDate: {column: Close Date, type: date, format: "%d/%m/%Y"}',
    )
    err = _error(path)
    assert (err.problems[0].line, err.problems[0].column) == (line, "CloseDate")
    assert "with format '%d/%m/%Y' is impossible for 4 of 4" in str(err)


def test_missing_required_field(tmp_path: Path) -> None:
    path, _ = _broken(tmp_path, "      OwnerId: Deal owner\n", "")
    err = _error(path)
    problem = err.problems[0]
    assert problem.column == "OwnerId"
    assert "missing required field 'OwnerId' of Opportunity.csv" in problem.problem
    text = path.read_text().splitlines()
    assert text[problem.line - 1].strip() == "from: deals"  # the part that lacks it


def test_value_map_leaving_values_unmapped_names_them_and_counts(tmp_path: Path) -> None:
    path, _ = _broken(tmp_path, "          closedlost: Closed Lost\n", "")
    err = _error(path)
    problem = err.problems[0]
    assert problem.column == "StageName"
    assert "leaves 1 row(s) of 'Deal Stage' unmapped: 'closedlost' (1 rows)" in problem.problem
    assert path.read_text().splitlines()[problem.line - 1].strip().startswith("StageName:")


def test_missing_output_and_bad_yaml(tmp_path: Path) -> None:
    path, _ = _broken(tmp_path, "  firmographics_companies: empty\n", "")
    assert "missing output(s) firmographics_companies" in str(_error(path))
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsources: [a\n")
    err = _error(path)
    assert err.problems[0].line >= 2 and "not valid YAML" in str(err)


def test_invalid_mapping_lands_nothing(tmp_path: Path) -> None:
    path, _ = _broken(tmp_path, "Website: Company Domain Name", "Website: nope")
    with pytest.raises(MappingError):
        translate(path, FIXTURE, tmp_path / "landing")
    assert not (tmp_path / "landing").exists()


def test_mapping_check_and_ingest_commands(tmp_path: Path, settings) -> None:
    from territory_ops.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["mapping", "check", str(HUBSPOT), "--landing", str(FIXTURE)])
    assert ok.exit_code == 0, ok.output
    assert "crm_opportunities: 4 row(s)" in ok.output
    path, line = _broken(tmp_path, "Website: Company Domain Name", "Website: nope")
    bad = runner.invoke(app, ["mapping", "check", str(path), "--landing", str(FIXTURE)])
    assert bad.exit_code == 2
    assert f"line {line}, column 'Website'" in bad.output

    export = tmp_path / "export"
    shutil.copytree(FIXTURE, export)
    out = runner.invoke(
        app,
        [
            "ingest",
            "--mapping",
            str(HUBSPOT),
            "--landing",
            str(export),
            "--out",
            str(tmp_path / "l"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "geocoded crm_accounts: 5 row(s)" in out.output
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    assert con.execute("select count(*) from raw.crm_accounts").fetchone()[0] == 5
    reasons = dict(con.execute("select extract, status_reason from raw.load_registry").fetchall())
    assert reasons["intent_signals"] == "absent: the hubspot export has no intent_signals.csv"
    assert reasons["crm_accounts"] is None
    con.close()


def test_landing_resource_reads_the_configured_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.resources import LandingResource

    monkeypatch.delenv("TERRITORY_OPS_MAPPING", raising=False)
    as_is = LandingResource(path=str(FIXTURE))
    assert as_is.folder == FIXTURE  # no mapping configured: the folder is read as it is
    mapped = LandingResource(path=str(FIXTURE), mapping=str(HUBSPOT), mapped_dir=str(tmp_path))
    assert mapped.folder == tmp_path / "hubspot"
    assert (tmp_path / "hubspot" / "2026-10-31" / "Account.csv").is_file()
    monkeypatch.setenv("TERRITORY_OPS_MAPPING", str(SALESFORCE))
    # the Salesforce mapping is the identity: the landing folder is read as it is
    assert LandingResource(path=str(tmp_path / "x")).folder == tmp_path / "x"


def test_owner_from_latest_engagement_family_wide_and_split_locations(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "accounts.csv").write_text(
        'account,parent,location\nAcme,,"Austin, TX"\nAcme Sub,Acme,"Reno, NV"\nSolo,,x\n'
    )
    (export / "pipeline.csv").write_text(
        "id,account,agent,engaged\n"
        "1,Acme,Ann,2017-01-05\n"
        "2,Acme Sub,Bob,2017-03-01\n"  # the family's newest engagement: Bob owns both
        "3,Solo,Cy,2017-02-01\n"
        "4,Solo,Dee,2017-01-01\n"
        "5,,Eve,2017-12-01\n"  # no account: ignored by the derivation
    )
    required = "\n".join(
        f"      {c}: ~"
        for c in EXTRACTS[0].required_columns
        if c not in ("Id", "ParentId", "OwnerId", "BillingCity", "BillingState")
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        f"""name: tiny
snapshot_date: "2018-01-01"
sources: {{accounts: accounts.csv, pipeline: pipeline.csv}}
outputs:
  crm_accounts:
    from: accounts
    columns:
      Id: account
      ParentId: parent
      BillingCity: {{column: location, split: ",", index: 0}}
      BillingState: {{column: location, split: ",", index: 1}}
      OwnerId:
        derive: latest_engagement
        from: pipeline
        key: account
        column: agent
        date: engaged
        family: parent
{required}
  crm_users: empty
  crm_opportunities: empty
  intent_signals: empty
  firmographics_companies: empty
"""
    )
    translate(mapping, export, tmp_path / "landing")
    lines = (tmp_path / "landing" / "2018-01-01" / "Account.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = {r.split(",")[0]: dict(zip(header, r.split(","), strict=True)) for r in lines[1:]}
    assert {a: rows[a]["OwnerId"] for a in rows} == {"Acme": "Bob", "Acme Sub": "Bob", "Solo": "Cy"}
    assert (rows["Acme Sub"]["BillingCity"], rows["Acme Sub"]["BillingState"]) == ("Reno", "NV")
    assert (rows["Solo"]["BillingCity"], rows["Solo"]["BillingState"]) == ("x", "")
