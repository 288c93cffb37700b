"""A small CRM for the sample: it imports our write-back batches into the next month's snapshot.

The sample generator writes every month's extracts up front, as if nobody ever acted on a plan.
A real CRM would have imported last month's write-back (``Account.csv`` / ``Opportunity.csv``,
``Id,OwnerId``) before its next export. :func:`apply_writeback` makes month k+1's snapshot say
what that CRM would say:

1. start from the previous snapshot as it now stands (earlier imports included), so owners we
   set stay set;
2. import the write-back batches not yet applied anywhere in this landing (batch name order:
   later batches win);
3. let the month's own changes (what the generator changed between the two months as it wrote
   them, e.g. an unassigned account given an owner) through only where the record still holds
   the value that change started from: an owner our import set is not overwritten by a change
   meant for the account as it was.

A record the batch names but the snapshot no longer holds (the account was deleted, or merged
into another) is counted and listed as gone, never dropped silently. Rep departures, hires and
leaves live in ``User.csv`` and are untouched: an account we gave to a rep who leaves next month
stays with that rep, orphaned, exactly as in a CRM.

State kept under ``LANDING/_crm_simulator/`` (ingest reads only dated folders): the snapshot's
files as the generator wrote them (the first time one is changed) and a ledger of applied
batches. Applying again recomputes the same files from that state: the call is idempotent, and
a batch is imported into one snapshot only.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import polars as pl

from territory_ops.extracts.spec import ACCOUNTS, OPPORTUNITIES, parse_snapshot_dir
from territory_ops.files import replaced_atomically, write_atomically

STATE_DIR = "_crm_simulator"
LEDGER_FILE = "ledger.json"
BATCH_NAME = re.compile(r"^\d{8}T\d{6}Z$")
# the CRM objects a batch may update, with their file name in a batch folder and a snapshot
OBJECTS: tuple[str, ...] = (ACCOUNTS.file_name, OPPORTUNITIES.file_name)


class SimulatorError(ValueError):
    """The write-back or the snapshot is not what a CRM import expects; nothing was changed."""


@dataclass(frozen=True)
class ObjectResult:
    """One CRM object's import into a snapshot."""

    file_name: str
    applied: int  # batch rows whose record exists: its OwnerId is now the batch's
    gone: tuple[str, ...]  # record ids the batch names but the snapshot no longer holds
    carried: int  # records holding an owner an earlier import set (not in these batches)
    kept_over_drift: int  # the month's own change skipped: our import changed the record first


@dataclass(frozen=True)
class ApplyResult:
    snapshot: date
    previous: date | None
    new_batches: tuple[str, ...]  # imported by this call
    batches: tuple[str, ...]  # every batch this snapshot holds (earlier calls included)
    elsewhere: tuple[str, ...]  # batches in the folder already imported into another snapshot
    objects: dict[str, ObjectResult] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return sum(o.applied for o in self.objects.values())

    @property
    def gone(self) -> int:
        return sum(len(o.gone) for o in self.objects.values())

    def summary(self) -> str:
        parts = [
            f"{o.file_name}: {o.applied:,} owner(s) set, {len(o.gone):,} record(s) gone"
            + (f" ({', '.join(o.gone[:5])}{', ...' if len(o.gone) > 5 else ''})" if o.gone else "")
            + f", {o.carried:,} carried from earlier imports"
            for o in self.objects.values()
        ]
        new = ", ".join(self.new_batches) or "none new"
        return f"Snapshot {self.snapshot.isoformat()} <- batches: {new}. " + "; ".join(parts)


def write_back_batches(writeback_dir: Path) -> list[Path]:
    """The batch folders of a write-back folder (``<YYYYMMDDTHHMMSSZ>/``), oldest first."""
    if not writeback_dir.is_dir():
        raise SimulatorError(f"write-back folder {writeback_dir} does not exist")
    return sorted(p for p in writeback_dir.iterdir() if p.is_dir() and BATCH_NAME.match(p.name))


def _read(path: Path) -> pl.DataFrame:
    # every column as text: the file is written back byte for byte except OwnerId
    return pl.read_csv(path, infer_schema=False)


def _batch_rows(batch: Path, file_name: str) -> pl.DataFrame:
    path = batch / file_name
    if not path.is_file():
        return pl.DataFrame(schema={"Id": pl.String, "OwnerId": pl.String})
    frame = _read(path)
    missing = {"Id", "OwnerId"} - set(frame.columns)
    if missing:
        raise SimulatorError(
            f"{path} lacks column(s) {', '.join(sorted(missing))}; it has: "
            f"{', '.join(frame.columns)}"
        )
    blank = frame.filter(pl.col("Id").is_null() | pl.col("OwnerId").is_null())
    if blank.height:
        raise SimulatorError(f"{path} has {blank.height} row(s) without Id or OwnerId")
    return frame.select("Id", "OwnerId")


def _batch_key(batch: Path) -> str:
    digest = hashlib.sha256()
    for name in OBJECTS:
        path = batch / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return f"{batch.name}:{digest.hexdigest()[:16]}"


def _kept_batch(state: Path, key: str) -> Path:
    """The copy of an imported batch (the write-back folder may be gone by the next call)."""
    return state / "batches" / key.replace(":", "_") / key.split(":")[0]


def _keep_batch(state: Path, key: str, batch: Path) -> None:
    kept = _kept_batch(state, key)
    kept.mkdir(parents=True, exist_ok=True)
    for name in OBJECTS:
        if (batch / name).is_file():
            write_atomically(kept / name, (batch / name).read_bytes())


def _load_ledger(state: Path) -> dict:
    path = state / LEDGER_FILE
    return json.loads(path.read_text()) if path.is_file() else {"batches": {}}


def _save_ledger(state: Path, ledger: dict) -> None:
    state.mkdir(parents=True, exist_ok=True)
    write_atomically(state / LEDGER_FILE, json.dumps(ledger, indent=2, sort_keys=True) + "\n")


def _snapshot_folders(landing: Path) -> dict[date, Path]:
    return {
        day: p
        for p in landing.iterdir()
        if p.is_dir() and (day := parse_snapshot_dir(p.name)) is not None
    }


def _original(landing: Path, day: date, file_name: str) -> Path:
    """The file as the generator wrote it (saved before the first import changed it)."""
    saved = landing / STATE_DIR / day.isoformat() / file_name
    return saved if saved.is_file() else landing / day.isoformat() / file_name


def _keep_original(landing: Path, day: date, file_name: str) -> None:
    saved = landing / STATE_DIR / day.isoformat() / file_name
    if not saved.is_file():
        saved.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(saved, (landing / day.isoformat() / file_name).read_bytes())


def _owners(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.select("Id", pl.col("OwnerId").alias(name))


def _imported_owners(batches: list[Path], file_name: str) -> pl.DataFrame:
    """Id -> OwnerId over the batches in order (a later batch wins)."""
    frames = [
        _batch_rows(b, file_name).with_columns(pl.lit(i).alias("_batch"))
        for i, b in enumerate(batches)
    ]
    if not frames:
        return pl.DataFrame(schema={"Id": pl.String, "imported": pl.String})
    rows = pl.concat(frames).with_row_index("_row")
    return (
        rows.sort(["_batch", "_row"])
        .unique("Id", keep="last", maintain_order=True)
        .select("Id", pl.col("OwnerId").alias("imported"))
    )


def _new_owners(
    original: pl.DataFrame,
    prev_now: pl.DataFrame | None,
    prev_original: pl.DataFrame | None,
    imported: pl.DataFrame,
) -> tuple[pl.DataFrame, ObjectResult]:
    """The snapshot's OwnerId per record after carrying, importing and the month's drift."""
    frame = original.select("Id", pl.col("OwnerId").alias("raw"))
    if prev_now is not None and prev_original is not None:
        frame = frame.join(_owners(prev_now, "prev_now"), on="Id", how="left").join(
            _owners(prev_original, "prev_raw"), on="Id", how="left"
        )
    else:
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias("prev_now"), pl.lit(None, pl.String).alias("prev_raw")
        )
    seen = prev_original["Id"] if prev_original is not None else pl.Series([], dtype=pl.String)
    frame = frame.join(imported, on="Id", how="left").with_columns(
        in_prev=pl.col("Id").is_in(seen.implode())
    )
    # before the month's own change: last month's owner (with earlier imports), then this batch
    before = pl.coalesce("imported", pl.when(pl.col("in_prev")).then("prev_now").otherwise("raw"))
    drifted = pl.col("in_prev") & pl.col("raw").ne_missing(pl.col("prev_raw"))
    untouched = before.eq_missing(pl.col("prev_raw"))
    frame = frame.with_columns(
        before.alias("before"),
        pl.when(drifted & untouched).then("raw").otherwise(before).alias("OwnerId"),
        (drifted & ~untouched).alias("kept_over_drift"),
        (
            pl.col("imported").is_null()
            & pl.col("in_prev")
            & pl.col("prev_now").ne_missing(pl.col("prev_raw"))
        ).alias("carried"),
    )
    gone = imported.join(frame.select("Id"), on="Id", how="anti")["Id"].sort().to_list()
    result = ObjectResult(
        file_name="",
        applied=int(frame["imported"].is_not_null().sum()),
        gone=tuple(gone),
        carried=int(frame["carried"].sum()),
        kept_over_drift=int(frame["kept_over_drift"].sum()),
    )
    return frame.select("Id", "OwnerId"), result


def _write_owners(target: Path, original: pl.DataFrame, owners: pl.DataFrame) -> None:
    columns = original.columns
    updated = original.drop("OwnerId").with_row_index("_row")
    updated = updated.join(owners, on="Id", how="left").sort("_row").select(columns)
    with replaced_atomically(target) as tmp:
        updated.write_csv(tmp)


def _deal_owners_follow_accounts(
    deals: pl.DataFrame,
    prev_deals: pl.DataFrame | None,
    accounts_raw: pl.DataFrame,
    accounts_now: pl.DataFrame,
) -> pl.DataFrame:
    """A deal opened this month on an account an import moved is opened by the account's owner
    (the generator gives it the owner the account had in its own history)."""
    seen = prev_deals["Id"].implode() if prev_deals is not None else pl.Series([], dtype=pl.String)
    raw = _owners(accounts_raw, "account_raw")
    now = _owners(accounts_now, "account_now")
    return (
        deals.join(raw, left_on="AccountId", right_on="Id", how="left")
        .join(now, left_on="AccountId", right_on="Id", how="left")
        .with_columns(
            pl.when(
                ~pl.col("Id").is_in(seen)
                & pl.col("OwnerId").eq_missing(pl.col("account_raw"))
                & pl.col("account_now").is_not_null()
            )
            .then("account_now")
            .otherwise("OwnerId")
            .alias("OwnerId")
        )
        .select(deals.columns)
    )


def apply_writeback(writeback_dir: Path, snapshot_dir: Path) -> ApplyResult:
    """Import the write-back batches of ``writeback_dir`` into ``snapshot_dir`` (a dated folder
    of a landing) as a CRM would, carrying the previous snapshot's imported owners forward.

    Apply snapshots in date order (each one starts from the one before as it now stands).
    Idempotent: a second call with the same folders writes the same files.
    """
    snapshot_dir = Path(snapshot_dir)
    day = parse_snapshot_dir(snapshot_dir.name)
    if day is None or not snapshot_dir.is_dir():
        raise SimulatorError(f"{snapshot_dir} is not a snapshot folder named by date (YYYY-MM-DD)")
    landing = snapshot_dir.parent
    for name in OBJECTS:
        if not (snapshot_dir / name).is_file():
            raise SimulatorError(f"snapshot {snapshot_dir} has no {name}")
    state = landing / STATE_DIR
    ledger = _load_ledger(state)
    known: dict[str, dict] = ledger["batches"]
    new, elsewhere = [], []
    for batch in write_back_batches(Path(writeback_dir)) if writeback_dir else []:
        key = _batch_key(batch)
        if key not in known:
            new.append((key, batch))
        elif known[key]["snapshot"] != day.isoformat():
            elsewhere.append(batch.name)
    mine = [
        (key, _kept_batch(state, key))
        for key, entry in known.items()
        if entry["snapshot"] == day.isoformat()
    ]
    batches = sorted(mine + new, key=lambda kb: (kb[1].name, kb[0]))
    earlier = sorted(d for d in _snapshot_folders(landing) if d < day)
    previous = earlier[-1] if earlier else None
    objects: dict[str, ObjectResult] = {}
    new_accounts: pl.DataFrame | None = None
    for name in OBJECTS:  # accounts first: deals opened this month follow their account
        original = _read(_original(landing, day, name))
        prev_now = _read(landing / previous.isoformat() / name) if previous else None
        prev_raw = _read(_original(landing, previous, name)) if previous else None
        imported = _imported_owners([b for _, b in batches], name)
        owners, result = _new_owners(original, prev_now, prev_raw, imported)
        objects[name] = replace(result, file_name=name)
        if name == ACCOUNTS.file_name:
            new_accounts = owners
            accounts_raw = original
        elif prev_raw is not None:
            merged = original.drop("OwnerId").join(owners, on="Id", how="left")
            followed = _deal_owners_follow_accounts(merged, prev_raw, accounts_raw, new_accounts)
            owners = followed.select("Id", "OwnerId")
        _keep_original(landing, day, name)
        _write_owners(snapshot_dir / name, original, owners)
    for key, batch in new:
        _keep_batch(state, key, batch)
        known[key] = {
            "snapshot": day.isoformat(),
            "source": str(batch.resolve()),
            "rows": {name: _batch_rows(batch, name).height for name in OBJECTS},
        }
    _save_ledger(state, ledger)
    return ApplyResult(
        snapshot=day,
        previous=previous,
        new_batches=tuple(b.name for _, b in new),
        batches=tuple(b.name for _, b in batches),
        elsewhere=tuple(elsewhere),
        objects=objects,
    )
