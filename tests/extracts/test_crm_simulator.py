"""The sample's CRM simulator on hand-built landing and write-back folders."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from territory_ops.extracts.sample.crm_simulator import (
    STATE_DIR,
    SimulatorError,
    apply_writeback,
)

MAY, JUNE, JULY = "2026-05-31", "2026-06-30", "2026-07-31"


def _accounts(rows: list[tuple[str, str | None]]) -> str:
    lines = ["Id,Name,OwnerId,Territory_Lock__c"]
    lines += [f"{i},Acme {i},{o or ''},false" for i, o in rows]
    return "\n".join(lines) + "\n"


def _deals(rows: list[tuple[str, str, str]]) -> str:
    lines = ["Id,AccountId,OwnerId,StageName"]
    lines += [f"{i},{a},{o},Prospecting" for i, a, o in rows]
    return "\n".join(lines) + "\n"


def _snapshot(landing: Path, day: str, accounts: str, deals: str) -> Path:
    folder = landing / day
    folder.mkdir(parents=True)
    (folder / "Account.csv").write_text(accounts)
    (folder / "Opportunity.csv").write_text(deals)
    (folder / "User.csv").write_text("Id,IsActive\nR1,true\n")
    return folder


def _batch(out: Path, name: str, accounts: list[tuple[str, str]], deals=None) -> Path:
    folder = out / name
    folder.mkdir(parents=True)
    (folder / "Account.csv").write_text("Id,OwnerId\n" + "".join(f"{i},{o}\n" for i, o in accounts))
    if deals is not None:
        (folder / "Opportunity.csv").write_text(
            "Id,OwnerId\n" + "".join(f"{i},{o}\n" for i, o in deals)
        )
    (folder / "change_log.csv").write_text("account_id\n")
    return folder


def _owners(folder: Path, name: str = "Account.csv") -> dict[str, str | None]:
    frame = pl.read_csv(folder / name, infer_schema=False)
    return dict(zip(frame["Id"], frame["OwnerId"], strict=True))


def _imported_in_june(landing: Path, tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    """A write-back folder whose one batch is imported into June; the folder."""
    out = tmp_path / "writeback"
    _batch(out, "20260601T080000Z", rows)
    apply_writeback(out, landing / JUNE)
    return out


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """Three months as a generator writes them: A1 owned by R1 throughout; A2 unassigned in May,
    given to R3 by the CRM's own drift in June; A3 deleted in July; A4 arrives in July."""
    land = tmp_path / "landing"
    _snapshot(
        land,
        MAY,
        _accounts([("A1", "R1"), ("A2", None), ("A3", "R2")]),
        _deals([("O1", "A1", "R1"), ("O3", "A3", "R2")]),
    )
    _snapshot(
        land,
        JUNE,
        _accounts([("A1", "R1"), ("A2", "R3"), ("A3", "R2")]),
        _deals([("O1", "A1", "R1"), ("O3", "A3", "R2"), ("O4", "A1", "R1")]),
    )
    _snapshot(
        land,
        JULY,
        _accounts([("A1", "R1"), ("A2", "R3"), ("A4", None)]),
        _deals([("O1", "A1", "R1"), ("O4", "A1", "R1"), ("O5", "A1", "R1")]),
    )
    return land


def test_import_sets_owners_and_leaves_everything_else_byte_for_byte(
    landing: Path, tmp_path: Path
) -> None:
    out = tmp_path / "writeback"
    _batch(out, "20260601T080000Z", [("A1", "R9")], deals=[("O1", "R9")])
    before = (landing / JUNE / "Account.csv").read_text()
    result = apply_writeback(out, landing / JUNE)
    assert result.new_batches == ("20260601T080000Z",)
    assert result.objects["Account.csv"].applied == 1
    assert result.objects["Opportunity.csv"].applied == 1
    assert _owners(landing / JUNE)["A1"] == "R9"
    assert _owners(landing / JUNE, "Opportunity.csv") == {"O1": "R9", "O3": "R2", "O4": "R9"}
    after = (landing / JUNE / "Account.csv").read_text()
    assert after == before.replace("A1,Acme A1,R1", "A1,Acme A1,R9")
    # the generator's file is kept for the next month's comparison; ingest ignores the folder
    assert (landing / STATE_DIR / JUNE / "Account.csv").read_text() == before


def test_a_placement_wins_over_the_months_own_assignment_of_the_same_account(
    landing: Path, tmp_path: Path
) -> None:
    out = tmp_path / "writeback"
    _batch(out, "20260601T080000Z", [("A2", "R5")])
    result = apply_writeback(out, landing / JUNE)
    assert _owners(landing / JUNE)["A2"] == "R5"
    assert result.objects["Account.csv"].kept_over_drift == 1


def test_the_months_own_change_goes_through_where_no_import_touched_the_record(
    landing: Path, tmp_path: Path
) -> None:
    _imported_in_june(landing, tmp_path, [("A1", "R9")])
    assert _owners(landing / JUNE)["A2"] == "R3"


def test_owners_carry_into_later_months_and_gone_records_are_reported(
    landing: Path, tmp_path: Path
) -> None:
    out = _imported_in_june(landing, tmp_path, [("A1", "R9")])
    _batch(out, "20260701T080000Z", [("A3", "R7"), ("A2", "R8")])
    july = apply_writeback(out, landing / JULY)
    assert july.previous is not None and july.previous.isoformat() == JUNE
    assert july.new_batches == ("20260701T080000Z",)
    assert july.elsewhere == ("20260601T080000Z",)
    owners = _owners(landing / JULY)
    assert owners == {"A1": "R9", "A2": "R8", "A4": None}
    accounts = july.objects["Account.csv"]
    assert accounts.gone == ("A3",)  # deleted in July: reported, not dropped silently
    assert accounts.applied == 1
    assert accounts.carried == 1  # A1 keeps June's imported owner
    # a deal opened in July on an account our import moved is opened by its new owner
    deals = _owners(landing / JULY, "Opportunity.csv")
    assert deals["O5"] == "R9"
    assert deals["O1"] == "R1"  # an existing deal moves only when a batch says so


def test_applying_again_is_idempotent(landing: Path, tmp_path: Path) -> None:
    out = _imported_in_june(landing, tmp_path, [("A1", "R9")])
    first = (landing / JUNE / "Account.csv").read_bytes()
    again = apply_writeback(out, landing / JUNE)
    assert again.new_batches == ()
    assert again.batches == ("20260601T080000Z",)
    assert (landing / JUNE / "Account.csv").read_bytes() == first
    # the same batch is never imported into a second snapshot
    july = apply_writeback(out, landing / JULY)
    assert july.new_batches == () and july.elsewhere == ("20260601T080000Z",)
    assert _owners(landing / JULY)["A1"] == "R9"  # carried, not re-imported


def test_a_later_batch_wins_and_the_write_back_folder_may_go_away(
    landing: Path, tmp_path: Path
) -> None:
    out = tmp_path / "writeback"
    _batch(out, "20260601T080000Z", [("A1", "R9")])
    _batch(out, "20260602T080000Z", [("A1", "R8")])
    apply_writeback(out, landing / JUNE)
    assert _owners(landing / JUNE)["A1"] == "R8"
    for batch in out.iterdir():
        for f in batch.iterdir():
            f.unlink()
        batch.rmdir()
    again = apply_writeback(out, landing / JUNE)  # recomputed from the kept copies
    assert again.batches == ("20260601T080000Z", "20260602T080000Z")
    assert _owners(landing / JUNE)["A1"] == "R8"


def test_no_batch_still_carries_the_previous_months_owners(landing: Path, tmp_path: Path) -> None:
    _imported_in_june(landing, tmp_path, [("A1", "R9")])
    empty = tmp_path / "nothing"
    empty.mkdir()
    july = apply_writeback(empty, landing / JULY)
    assert july.batches == () and july.applied == 0
    assert _owners(landing / JULY)["A1"] == "R9"


def test_bad_batches_and_folders_are_refused_before_anything_changes(
    landing: Path, tmp_path: Path
) -> None:
    out = tmp_path / "writeback"
    folder = out / "20260601T080000Z"
    folder.mkdir(parents=True)
    (folder / "Account.csv").write_text("Id,Owner\nA1,R9\n")
    before = (landing / JUNE / "Account.csv").read_bytes()
    with pytest.raises(SimulatorError, match="lacks column"):
        apply_writeback(out, landing / JUNE)
    assert (landing / JUNE / "Account.csv").read_bytes() == before
    with pytest.raises(SimulatorError, match="named by date"):
        apply_writeback(out, landing / "not-a-date")
    with pytest.raises(SimulatorError, match="does not exist"):
        apply_writeback(tmp_path / "missing", landing / JUNE)


def test_cli_applies_and_reports_gone_records(landing: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from territory_ops.cli.app import app

    out = tmp_path / "writeback"
    _batch(out, "20260701T080000Z", [("A1", "R9"), ("A3", "R7")])
    args = ["sample", "apply-writeback", "--writeback", str(out), "--snapshot", str(landing / JULY)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 owner(s) set, 1 record(s) gone (A3)" in result.output
    assert _owners(landing / JULY)["A1"] == "R9"
    bad = CliRunner().invoke(app, [*args[:-1], str(landing / "nope")])
    assert bad.exit_code == 1
