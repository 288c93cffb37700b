"""Ingest lands every extract as text, is idempotent, archives files and names bad input."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.ingest import land_extract
from territory_ops.extracts.spec import ACCOUNTS, EXTRACTS, OPPORTUNITIES, USERS
from territory_ops.quality.promotion import promote_current_loads


def data_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def newest_snapshot(landing: Path) -> Path:
    return sorted(p for p in landing.iterdir() if p.name[0].isdigit())[-1]


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def land_all(con, landing: Path, archive: Path):
    return {spec.name: land_extract(con, landing, spec, archive) for spec in EXTRACTS}


def test_every_row_of_every_file_lands_with_its_provenance(con, landing_copy, tmp_path):
    results = land_all(con, landing_copy, tmp_path / "archive")
    for spec in EXTRACTS:
        for result in results[spec.name]:
            path = landing_copy / result.snapshot_date.isoformat() / spec.file_name
            assert result.row_count == data_rows(path)
            landed = con.execute(
                f"select count(*), min(_row_number), max(_row_number), any_value(_source_file) "
                f"from raw.{spec.raw_table} where _load_id = ?",
                [result.load_id],
            ).fetchone()
            assert landed[0] == result.row_count
            assert (landed[1], landed[2]) == (1, result.row_count)
            assert landed[3] == spec.file_name
            assert Path(result.archived_path).read_bytes() == path.read_bytes()


def test_landing_the_same_files_again_is_a_no_op(con, landing_copy, tmp_path):
    land_all(con, landing_copy, tmp_path / "archive")
    before = con.execute("select count(*) from raw.crm_accounts").fetchone()[0]
    again = land_all(con, landing_copy, tmp_path / "archive")
    assert not any(r.landed for results in again.values() for r in results)
    assert con.execute("select count(*) from raw.crm_accounts").fetchone()[0] == before
    assert con.execute("select count(*) from raw.load_registry").fetchone()[0] == sum(
        len(r) for r in again.values()
    )


def test_changed_file_for_same_snapshot_lands_as_a_new_load_and_keeps_the_old(
    con, landing_copy, tmp_path
):
    first = land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")
    path = newest_snapshot(landing_copy) / ACCOUNTS.file_name
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")  # one account fewer
    second = land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")
    assert second[-1].landed and second[-1].row_count == first[-1].row_count - 1
    loads = con.execute(
        "select count(distinct _load_id) from raw.crm_accounts where _snapshot_date = ?",
        [second[-1].snapshot_date],
    ).fetchone()[0]
    assert loads == 2
    archived = list((tmp_path / "archive" / ACCOUNTS.name).rglob("*.csv"))
    assert len(archived) == len(first) + 1


def test_missing_extract_names_the_file(con, landing_copy, tmp_path):
    missing = newest_snapshot(landing_copy) / USERS.file_name
    missing.unlink()
    with pytest.raises(ExtractError, match=r"User\.csv") as err:
        land_extract(con, landing_copy, USERS, tmp_path / "archive")
    assert "missing extract" in str(err.value)


def test_missing_required_column_names_file_and_column(con, landing_copy, tmp_path):
    path = newest_snapshot(landing_copy) / OPPORTUNITIES.file_name
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("StageName", "Stage", 1), encoding="utf-8")
    with pytest.raises(ExtractError) as err:
        land_extract(con, landing_copy, OPPORTUNITIES, tmp_path / "archive")
    assert err.value.column == "StageName"
    assert "Opportunity.csv" in str(err.value) and "'StageName'" in str(err.value)


def test_renamed_column_gets_a_hint(con, landing_copy, tmp_path):
    path = newest_snapshot(landing_copy) / ACCOUNTS.file_name
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("OwnerId", "Owner_Id", 1), encoding="utf-8")
    with pytest.raises(ExtractError, match=r"found 'Owner_Id': renamed\?"):
        land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")


def test_non_utf8_bytes_name_the_line(con, landing_copy, tmp_path):
    path = newest_snapshot(landing_copy) / ACCOUNTS.file_name
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b",", b",Caf\xe9 ", 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ExtractError, match=r"not UTF-8: byte e9 on line 4"):
        land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")


def test_utf8_bom_is_accepted(con, landing_copy, tmp_path):
    path = newest_snapshot(landing_copy) / USERS.file_name
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    results = land_extract(con, landing_copy, USERS, tmp_path / "archive")
    assert results[-1].row_count == data_rows(path)
    ids = con.execute(
        'select count(*) from raw.crm_users where _load_id = ? and "Id" is not null',
        [results[-1].load_id],
    ).fetchone()[0]
    assert ids == results[-1].row_count


def test_truncated_file_fails_naming_the_line_and_lands_nothing(con, landing_copy, tmp_path):
    land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")
    before = con.execute("select count(*) from raw.crm_accounts").fetchone()[0]
    path = newest_snapshot(landing_copy) / ACCOUNTS.file_name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2].rsplit(b",", 3)[0])  # cut mid-line
    with pytest.raises(ExtractError, match=r"line \d+") as err:
        land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")
    assert "Account.csv" in str(err.value)
    assert con.execute("select count(*) from raw.crm_accounts").fetchone()[0] == before


def test_empty_file_is_named(con, landing_copy, tmp_path):
    (newest_snapshot(landing_copy) / ACCOUNTS.file_name).write_bytes(b"")
    with pytest.raises(ExtractError, match=r"Account\.csv: file is empty"):
        land_extract(con, landing_copy, ACCOUNTS, tmp_path / "archive")


def test_unknown_extra_columns_are_kept(con, landing_copy, tmp_path):
    path = newest_snapshot(landing_copy) / USERS.file_name
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",Region__c"] + [line + ",West" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    land_extract(con, landing_copy, USERS, tmp_path / "archive")
    kept = con.execute(
        "select count(*) from raw.crm_users where \"Region__c\" = 'West'"
    ).fetchone()[0]
    assert kept == len(lines) - 1


def test_promotion_picks_the_newest_snapshot_of_every_extract(con, landing_copy, tmp_path):
    results = land_all(con, landing_copy, tmp_path / "archive")
    promoted = promote_current_loads(con)
    newest = max(r.snapshot_date for r in results["crm_accounts"])
    assert {snapshot for _, snapshot in promoted.values()} == {newest}
    statuses = con.execute(
        "select count(*) from raw.load_registry where status = 'accepted'"
    ).fetchone()[0]
    assert statuses == len(EXTRACTS)


def test_promotion_refuses_extracts_from_different_snapshots(con, landing_copy, tmp_path):
    land_all(con, landing_copy, tmp_path / "archive")
    newest = newest_snapshot(landing_copy)
    con.execute(
        "update raw.load_registry set status = 'rejected' "
        "where extract = 'crm_users' and snapshot_date = ?",
        [date.fromisoformat(newest.name)],
    )
    with pytest.raises(ExtractError, match=r"extracts disagree on the snapshot.*crm_users"):
        promote_current_loads(con)
