"""CRM events the sample generator does not write, on a hand-built landing."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from territory_ops.extracts.sample.crm_events import apply_crm_events

DAYS = ("2026-05-31", "2026-06-30", "2026-07-31")


def _landing(tmp_path: Path) -> Path:
    land = tmp_path / "landing"
    accounts = ["Id,ParentId,OwnerId,Territory_Lock__c"]
    accounts += [f"A{i:03d},,R1,false" for i in range(400)]
    accounts += ["D1,,R2,false"]  # a duplicate of A000
    accounts += ["F1,,R1,false", "F2,F1,R1,false", "G1,,R2,false", "G2,G1,R2,false"]
    deals = ["Id,AccountId,OwnerId,StageName,IsClosed", "O1,D1,R2,Prospecting,true"]
    for day in DAYS:
        folder = land / day
        folder.mkdir(parents=True)
        (folder / "Account.csv").write_text("\n".join(accounts) + "\n")
        (folder / "Opportunity.csv").write_text("\n".join(deals) + "\n")
    truth = land / "_truth"
    truth.mkdir()
    (truth / "account_truth.csv").write_text("account_id,is_duplicate_of\nD1,A000\nA000,\n")
    return land


def test_events_hold_from_their_month_on_and_deals_follow(tmp_path: Path) -> None:
    land = _landing(tmp_path)
    events = apply_crm_events(land, seed=3, acquisitions_per_month=5.0)
    first = pl.read_csv(land / DAYS[0] / "Account.csv", infer_schema=False)
    assert first.height == 405  # the first month is as written
    assert events.deleted and all(d > DAYS[0] for d in events.deleted.values())
    assert not set(events.deleted) & {"A000", "D1", "F1", "F2", "G1", "G2"}
    for day in DAYS[1:]:
        accounts = pl.read_csv(land / day / "Account.csv", infer_schema=False)
        gone = {a for a, d in events.deleted.items() if d <= day}
        assert not gone & set(accounts["Id"])
    last = pl.read_csv(land / DAYS[-1] / "Account.csv", infer_schema=False)
    deals = pl.read_csv(land / DAYS[-1] / "Opportunity.csv", infer_schema=False)
    if "D1" in events.merged:  # a merged duplicate's deals move to the original
        assert "D1" not in set(last["Id"]) and deals["AccountId"].to_list() == ["A000"]
    (target, (buyer, _)), *_ = events.acquired.items()
    assert {target, buyer} == {"F1", "G1"}
    assert last.filter(pl.col("Id") == target)["ParentId"].to_list() == [buyer]


def test_the_same_seed_gives_the_same_events(tmp_path: Path) -> None:
    one = apply_crm_events(_landing(tmp_path / "a"), seed=3)
    two = apply_crm_events(_landing(tmp_path / "b"), seed=3)
    assert one == two
