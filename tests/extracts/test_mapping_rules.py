"""Mappings that read what people have (docs/mappings.md): a Mac Roman export with CR line
endings, unknown keys anywhere, `where` filters, id rules, lookups between files whose key
columns have other names, `invalid: blank` for Excel-damaged cells, unused sources.

The export is tests/extracts/fixtures/startups/ (companies.csv is Mac Roman with CR line
endings, as Excel on a Mac writes it), mapped by tests/extracts/fixtures/startups.yaml."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory_ops.extracts.mapping import (
    MappingError,
    check_mapping,
    load_mapping,
    source_lines,
    translate,
)
from tests.extracts.mapping_edits import edited, mapping_error

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
MAPPING = FIXTURES / "startups.yaml"
EXPORT = FIXTURES / "startups"
SNAPSHOT = "2014-01-01"
# the accounts are geocoded: share the worker that builds the geocoder's cache
pytestmark = pytest.mark.xdist_group("geocoder")


def _edited(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    return edited(MAPPING, tmp_path, old, new)


def _error(path: Path, export: Path = EXPORT) -> MappingError:
    return mapping_error(path, export)


def _rows(landing: Path, file_name: str) -> list[dict[str, str]]:
    with (landing / SNAPSHOT / file_name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _check(args: list[str]):
    from territory_ops.cli import app

    return CliRunner().invoke(app, ["mapping", "check", *args])


def test_the_fixture_is_mac_roman_with_cr_line_endings() -> None:
    data = (EXPORT / "companies.csv").read_bytes()
    assert b"\r" in data and b"\n" not in data
    assert "Señor".encode("mac_roman") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_mac_roman_export_translates_to_utf8_with_every_rule(tmp_path: Path) -> None:
    result = translate(MAPPING, EXPORT, tmp_path / "landing")
    accounts = {r["Id"]: r for r in _rows(tmp_path / "landing", "Account.csv")}
    # decoded from Mac Roman; the closed company is filtered out by `where`
    assert accounts["/company/acme"]["Name"] == "Acme Señor"
    assert accounts["/company/epsilon"]["Name"] == "Épsilon Systèmes"
    assert "/company/delta" not in accounts and len(accounts) == 5
    # parents from the relationship file, owners from the roster (other key names)
    assert accounts["/company/gamma"]["ParentId"] == "/company/acme"
    assert accounts["/company/acme"]["ParentId"] == ""
    assert {i: r["OwnerId"] for i, r in accounts.items()} == {
        "/company/acme": "ann",
        "/company/beta": "bob",
        "/company/gamma": "cy",
        "/company/epsilon": "ann",
        "/company/zeta": "dee",
    }
    assert accounts["/company/acme"]["Funding_Total__c"] == "1500000"
    # rounds have no id: the template makes one; Excel-damaged amounts land blank
    deals = {r["Id"]: r for r in _rows(tmp_path / "landing", "Opportunity.csv")}
    assert len(deals) == 7
    assert deals["/company/acme-2012-01-10-series-a"]["Amount"] == "1500000"
    assert deals["/company/acme-2013-03-02-series-b"]["Amount"] == ""  # 255 '#'
    assert deals["/company/gamma-2010-02-03-series-a"]["Amount"] == ""  # a date
    assert result.report is not None and result.report.warnings == []


def test_translated_rows_name_their_source_file_and_line(tmp_path: Path) -> None:
    translate(MAPPING, EXPORT, tmp_path / "landing")
    snapshot = tmp_path / "landing" / SNAPSHOT
    lines = source_lines(snapshot, "Account.csv")
    # line 5 of companies.csv (the closed company) was filtered out
    assert lines == [("companies.csv", n) for n in (2, 3, 4, 6, 7)]
    assert source_lines(snapshot, "Opportunity.csv")[1] == ("rounds.csv", 3)
    assert source_lines(snapshot, "intent_signals.csv") is None  # nothing was translated
    # the landing file itself keeps the contract's columns only
    header = (snapshot / "Account.csv").read_text().splitlines()[0]
    assert "line" not in header.split(",")


def test_check_report_counts_filtered_and_blanked_rows(tmp_path: Path) -> None:
    report = check_mapping(MAPPING, EXPORT)
    text = "\n".join(report.lines())
    assert "where {status: not closed} keeps 5 of 6 row(s) of companies.csv: 1 filtered out" in text
    assert (
        "column 'Amount': invalid: blank empties 2 of 7 value(s) of 'raised_amount_usd' "
        "in rounds.csv (not number), e.g. line 3: '#####" in text
    )
    assert "(255 characters); line 6: '2010-02-03'" in text
    assert "lookup finds 1 of 5 row(s) in acquisitions.csv" in text


def test_undeclared_encoding_is_detected_and_said(tmp_path: Path) -> None:
    path, line = _edited(
        tmp_path,
        "companies: {file: companies.csv, encoding: mac_roman}",
        "companies: companies.csv",
    )
    report = check_mapping(path, EXPORT)
    [note] = [n for n in report.notes if "UTF-8" in n.problem]
    assert note.line == line
    assert "companies.csv is not UTF-8: read as mac-roman (detected" in note.problem
    translate(path, EXPORT, tmp_path / "landing")
    names = {r["Name"] for r in _rows(tmp_path / "landing", "Account.csv")}
    assert "Acme Señor" in names


def test_wrong_encoding_names_file_line_and_byte_and_exits_2(tmp_path: Path) -> None:
    path, line = _edited(tmp_path, "encoding: mac_roman}", "encoding: utf-8}")
    err = _error(path)
    [problem] = err.problems
    assert problem.line == line
    assert (
        "companies.csv, line 2: byte 0x96 (position 104, after '/company/acme,Acme Se')"
        in problem.problem
    )
    assert "is not valid utf-8; the file looks like mac_roman" in problem.problem

    result = _check([str(path), "--landing", str(EXPORT)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "UnicodeDecodeError" not in result.output
    assert f"line {line}: companies.csv, line 2: byte 0x96" in result.output


def test_an_unknown_encoding_is_a_schema_error(tmp_path: Path) -> None:
    path, line = _edited(tmp_path, "encoding: mac_roman}", "encoding: macintosh-roman}")
    err = _error(path)
    assert [p.line for p in err.problems] == [line]
    assert "unknown encoding 'macintosh-roman'" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "key", "column", "says"),
    [
        ("name: startups\n", "name: startups\ncolour: blue\n", "colour", None, "at the top"),
        ("encoding: mac_roman}", "encodng: mac_roman}", "encodng", None, "mean 'encoding'"),
        ("    where: {status:", "    wher: {status:", "wher", None, "mean 'where'"),
        (
            "invalid: blank}\n    geo",
            "invalid: blank, scael: 2}\n    geo",
            "scael",
            "Funding_Total__c",
            "mean 'scale'",
        ),  # fmt: skip
        ("{city: BillingCity, state:", "{town: BillingCity, state:", "town", None, "in geocode"),
        (
            "Name: funding_round_type\n",
            "Name: {column: funding_round_type, where: {a: b}}\n",
            "where",
            "Name",
            "belongs elsewhere",
        ),  # fmt: skip
    ],
)
def test_an_unknown_key_anywhere_names_its_line(
    tmp_path: Path, old: str, new: str, key: str, column: str | None, says: str
) -> None:
    path, _ = _edited(tmp_path, old, new)
    text = path.read_text()
    line = text[: text.index(key, text.index(new))].count("\n") + 1  # the key's own line
    err = _error(path)
    assert [(p.line, p.column) for p in err.problems] == [(line, column)]
    assert f"unknown key '{key}'" in err.problems[0].problem and says in err.problems[0].problem


def test_the_unknown_key_of_the_user_story_is_an_error_in_the_cli(tmp_path: Path) -> None:
    path, line = _edited(tmp_path, "    where: {status:", "    filter: {status:")
    result = _check([str(path), "--landing", str(EXPORT)])
    assert result.exit_code == 2
    assert f"edited.yaml, line {line}: unknown key 'filter' in an output" in result.output


def test_shipped_mappings_still_load() -> None:
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        mapping = load_mapping(path)
        assert len(mapping.outputs) == 5, path
    salesforce = load_mapping(ROOT / "mappings" / "salesforce.yaml")
    assert salesforce.is_identity
    assert salesforce.sources["accounts"].file == "Account.csv"


def test_where_on_a_source_with_a_list_and_an_unknown_column(tmp_path: Path) -> None:
    path, _ = _edited(
        tmp_path,
        "companies: {file: companies.csv, encoding: mac_roman}",
        "companies: {file: companies.csv, encoding: mac_roman, where: {status: [operating, ipo]}}",
    )
    translate(path, EXPORT, tmp_path / "landing")
    ids = [r["Id"] for r in _rows(tmp_path / "landing", "Account.csv")]
    assert ids == ["/company/acme", "/company/beta", "/company/epsilon", "/company/zeta"]
    text = "\n".join(check_mapping(path, EXPORT).lines())
    assert "where {status: [ipo, operating]} keeps 4 of 6 row(s) of companies.csv" in text

    path, line = _edited(tmp_path, "where: {status: {not: closed}}", "where: {state: closed}")
    err = _error(path)
    assert [(p.line, p.column) for p in err.problems] == [(line, "where")]
    assert "unknown column 'state' in companies.csv" in str(err)


def test_an_id_template_that_repeats_is_a_warning_with_examples(tmp_path: Path) -> None:
    path, line = _edited(
        tmp_path,
        '{template: "{company_permalink}-{funded_at}-{funding_round_type}"}',
        '{template: "{company_permalink}-{funded_at}"}',
    )
    report = check_mapping(path, EXPORT)
    [warning] = report.warnings
    assert (warning.line, warning.column) == (line, "Id")
    assert "2 row(s) of Opportunity.csv share an id with another row (1 id(s))" in warning.problem
    assert "'/company/beta-2011-06-01' (2 rows, lines 4, 5)" in warning.problem
    result = _check([str(path), "--landing", str(EXPORT)])
    assert result.exit_code == 0
    assert f"warning: {path}, line {line}, column 'Id': 2 row(s)" in result.output


def test_id_from_the_row_number_and_unknown_template_columns(tmp_path: Path) -> None:
    path, _ = _edited(
        tmp_path,
        '{template: "{company_permalink}-{funded_at}-{funding_round_type}"}',
        '{template: "round-{_row}"}',
    )
    translate(path, EXPORT, tmp_path / "landing")
    ids = [r["Id"] for r in _rows(tmp_path / "landing", "Opportunity.csv")]
    assert ids == [f"round-{n}" for n in range(1, 8)]

    template = '{template: "{company_permalink}-{funded_at}-{funding_round_type}"}'
    path, _ = _edited(tmp_path, template, "row_number")
    translate(path, EXPORT, tmp_path / "landing2")
    assert [r["Id"] for r in _rows(tmp_path / "landing2", "Opportunity.csv")][:2] == ["1", "2"]

    path, line = _edited(tmp_path, "-{funding_round_type}", "-{round_type}")
    err = _error(path)
    assert [(p.line, p.column) for p in err.problems] == [(line, "Id")]
    assert "unknown column 'round_type' in rounds.csv" in str(err)

    deal_account = "      AccountId: company_permalink\n"
    path, line = _edited(tmp_path, deal_account, "      Id: x\n" + deal_account)
    err = _error(path)
    assert "id: and a rule for Id say the same" in str(err)


def test_lookup_key_columns_are_checked_in_both_files(tmp_path: Path) -> None:
    path, line = _edited(tmp_path, "match: company_permalink", "match: acquired_permalink")
    err = _error(path)
    assert [p.column for p in err.problems] == ["ParentId"]
    assert "unknown column 'acquired_permalink' in acquisitions.csv" in str(err)
    path, _ = _edited(tmp_path, "match: company_permalink", "# match: company_permalink")
    err = _error(path)  # without match the key's own name is looked for in the other file
    assert "unknown column 'permalink' in acquisitions.csv" in str(err)


def test_damaged_money_cells_stop_the_check_unless_invalid_blank(tmp_path: Path) -> None:
    path, line = _edited(
        tmp_path,
        "{column: raised_amount_usd, type: number, invalid: blank}",
        "{column: raised_amount_usd, type: number}",
    )
    err = _error(path)
    [problem] = err.problems
    assert (problem.line, problem.column) == (line, "Amount")
    assert "type number is impossible for 2 of 7 value(s) of 'raised_amount_usd'" in str(err)
    assert "'2010-02-03'" in str(err)

    name = "Name: funding_round_type\n"
    path, _ = _edited(tmp_path, name, "Name: {column: funding_round_type, invalid: blank}\n")
    assert "invalid: applies to typed values" in str(_error(path))


def test_an_unused_source_is_a_warning(tmp_path: Path) -> None:
    roster = "  roster: roster.csv\n"
    path, line = _edited(tmp_path, roster, roster + "  extra: rounds.csv\n")
    report = check_mapping(path, EXPORT)
    assert [(w.line, w.problem) for w in report.warnings] == [
        (line + 1, "source 'extra' (rounds.csv) is read by no output: map it, or remove it")
    ]


def test_passthrough_of_a_filtered_or_non_utf8_file_lands_utf8(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "firms.csv").write_bytes(
        "domain,employees,revenue_usd,revenue_growth_pct,naics_code\r\n"
        "café.fr,10,100,,\r\nold.com,5,50,,\r\n".encode("cp1252")
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        'name: firms\nsnapshot_date: "2020-01-01"\nencoding: cp1252\n'
        "sources: {firms: firms.csv}\noutputs:\n"
        "  firmographics_companies:\n"
        "    {from: firms, passthrough: true, where: {domain: {not: old.com}}}\n"
        "  crm_accounts: empty\n  crm_users: empty\n  crm_opportunities: empty\n"
        "  intent_signals: empty\n"
    )
    assert not load_mapping(mapping).is_identity
    translate(mapping, export, tmp_path / "landing")
    landed = (tmp_path / "landing" / "2020-01-01" / "firmographics.csv").read_text("utf-8")
    assert landed.splitlines() == [
        "domain,employees,revenue_usd,revenue_growth_pct,naics_code",
        "café.fr,10,100,,",
    ]
    assert source_lines(tmp_path / "landing" / "2020-01-01", "firmographics.csv") == [
        ("firms.csv", 2)
    ]


def test_ingest_prints_the_notes_and_lands_the_translation(tmp_path: Path, settings) -> None:
    import duckdb

    from territory_ops.cli import app

    result = CliRunner().invoke(
        app,
        ["ingest", "--mapping", str(MAPPING), "--landing", str(EXPORT), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "invalid: blank empties 2 of 7 value(s) of 'raised_amount_usd'" in result.output
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    landed = con.execute(
        """select count(*), count(*) filter (where "Amount" is null or "Amount" = '')
        from raw.crm_opportunities"""
    ).fetchone()
    con.close()
    assert landed == (7, 2)
