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


def _reps_active(folder: Path) -> set[str]:
    users = pl.read_csv(folder / "User.csv", infer_schema=False)
    reps = users.filter((pl.col("Sales_Role__c") == "rep") & (pl.col("IsActive") == "true"))
    return set(reps["Id"].to_list())


def test_a_third_of_reps_turn_over_in_a_year_at_any_team_size(tmp_path: Path) -> None:
    """The generator alone loses one rep a month (a third of 40, 4% of 300 a year); the CRM
    events top departures up to about a third a year, each replaced by a hire like them."""
    from datetime import date

    from territory_ops.extracts.sample import generate_sample

    land = tmp_path / "landing"
    generate_sample(land, accounts=1200, reps=120, months=12, seed=5, as_of=date(2026, 12, 31))
    events = apply_crm_events(land, seed=5, acquisitions_per_month=0.0)
    days = sorted(p for p in land.iterdir() if p.name.startswith("20"))
    start = _reps_active(days[0])
    left: set[str] = set()
    previous = start
    for folder in days[1:]:
        now = _reps_active(folder)
        left |= previous - now
        assert abs(len(now) - len(start)) <= 2  # every departure is replaced that month
        accounts = pl.read_csv(folder / "Account.csv", infer_schema=False)
        gone = {r for r, d in events.departed.items() if d <= folder.name}
        newly = accounts.join(
            pl.read_csv(days[days.index(folder) - 1] / "Account.csv", infer_schema=False).select(
                "Id", pl.col("OwnerId").alias("before")
            ),
            on="Id",
        ).filter(
            pl.col("OwnerId").is_in(list(gone)) & pl.col("OwnerId").ne_missing(pl.col("before"))
        )
        assert newly.height == 0  # nobody hands an account to a rep who has left
        previous = now
    share = len(left) / len(start)
    assert 0.25 <= share <= 0.40, share
    assert events.departed and set(events.departed) <= left
    users = pl.read_csv(days[-1] / "User.csv", infer_schema=False)
    by_id = {row["Id"]: row for row in users.iter_rows(named=True)}
    for hire, (leaver, joined) in events.hired.items():
        new, old = by_id[hire], by_id[leaver]
        assert new["IsActive"] == "true" and old["IsActive"] == "false"
        for column in ("Segment__c", "ManagerId", "Home_PostalCode__c", "Sales_Role__c"):
            assert new[column] == old[column]
        assert new["CreatedDate"][:10] <= joined and new["Name"] != old["Name"]
    assert users["Id"].n_unique() == users.height
