"""CRM write-back: approved, not yet exported changes -> a Salesforce Data Loader file + a log.

Only proposals whose status is ``approved`` are exported — never open, rejected, appealed
(held until RevOps decides), superseded or already exported ones. The files are written first
(to temporary names, then renamed), and the proposals are marked ``exported`` with one
``export`` line each on the audit log in the same transaction, so running it twice exports
nothing twice and a failure leaves nothing half-marked. Every text cell is neutralised against
spreadsheet formula injection (``territory_ops.csv_safe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.csv_safe import write_csv_safe
from territory_ops.files import replaced_atomically
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now
from territory_ops.writeback.decisions import ensure_decisions_table, log_decisions, set_status

OWNER_FILE = "account_owner_updates_{batch}.csv"
CHANGE_LOG_FILE = "change_log_{batch}.csv"

_APPROVED_SQL = """
with approvals as (
    select proposal_id, run_id, decided_by, decided_at,
        row_number() over (partition by proposal_id, run_id
                           order by decided_at desc, decision_id desc) as rn
    from plans.decisions
    where action = 'approve'
)
select
    p.proposal_id, p.run_id, p.account_id, p.account_name, p.from_rep_id, p.from_rep_name,
    p.to_rep_id, p.to_rep_name, p.reason_code, p.reason, p.is_temporary, p.temporary_until,
    a.decided_by as approved_by, a.decided_at as approved_at
from plans.proposals p
left join approvals a
    on a.proposal_id = p.proposal_id and a.run_id is not distinct from p.run_id and a.rn = 1
where p.status = ?
order by p.account_id, p.proposal_id
"""


class WritebackError(RuntimeError):
    """The approved changes cannot be exported as they are; nothing was written or marked."""


@dataclass(frozen=True)
class WritebackResult:
    batch_id: str
    rows: int
    owner_csv: Path | None  # None when there was nothing to export
    change_log_csv: Path | None
    proposal_ids: tuple[str, ...]

    def summary(self) -> str:
        if not self.rows:
            return "nothing to export: no approved change is waiting"
        return f"{self.rows} approved changes exported to {self.owner_csv}"


def approved_changes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Approved, not yet exported proposals with who approved them and when."""
    ensure_decisions_table(con)
    if not table_exists(con, "plans", "proposals"):
        raise WritebackError("plans.proposals does not exist: no pass has proposed anything")
    return query_frame(con, _APPROVED_SQL, [ProposalStatus.APPROVED])


def _check(changes: pl.DataFrame) -> None:
    """Refuse (naming examples) what the CRM would reject or what would be ambiguous."""
    twice = changes.filter(pl.col("account_id").is_duplicated())
    if twice.height:
        rows = twice.select("account_id", "proposal_id", "to_rep_id").head(6).rows()
        raise WritebackError(
            "more than one approved change for the same account (column account_id), "
            f"resolve before exporting: {rows}"
        )
    blank = changes.filter(
        pl.col("account_id").fill_null("").str.strip_chars().eq("")
        | pl.col("to_rep_id").fill_null("").str.strip_chars().eq("")
    )
    if blank.height:
        raise WritebackError(
            "approved changes without account_id or to_rep_id: "
            f"{blank.select('proposal_id').head(5)['proposal_id'].to_list()}"
        )
    unapproved = changes.filter(pl.col("approved_by").is_null())
    if unapproved.height:
        raise WritebackError(
            "proposals marked approved without an approval on the audit log: "
            f"{unapproved['proposal_id'].head(5).to_list()}"
        )


def _owner_frame(changes: pl.DataFrame) -> pl.DataFrame:
    return changes.select(pl.col("account_id").alias("Id"), pl.col("to_rep_id").alias("OwnerId"))


def _log_frame(changes: pl.DataFrame) -> pl.DataFrame:
    return changes.select(
        "account_id",
        "account_name",
        pl.col("from_rep_id").fill_null(""),
        pl.col("from_rep_name").fill_null(""),
        "to_rep_id",
        "to_rep_name",
        "reason_code",
        "reason",
        "is_temporary",
        pl.col("temporary_until").cast(pl.Utf8).fill_null(""),
        "approved_by",
        pl.col("approved_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("approved_at"),
        "proposal_id",
        "run_id",
    )


def _write_atomically(frame: pl.DataFrame, path: Path) -> None:
    with replaced_atomically(path) as tmp:
        write_csv_safe(frame, tmp)


def export_approved(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    by: str = "territory-ops writeback",
    now: datetime | None = None,
) -> WritebackResult:
    """Write the approved changes for the CRM and mark them exported (nothing twice)."""
    now = now or utc_now()
    batch = now.strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    written: list[Path] = []
    con.begin()
    try:
        changes = approved_changes(con)
        if changes.height == 0:
            con.rollback()
            return WritebackResult(batch, 0, None, None, ())
        _check(changes)
        rows = [row | {"status": ProposalStatus.APPROVED} for row in changes.to_dicts()]
        exported = ProposalStatus.EXPORTED
        set_status(con, rows, exported)
        log_decisions(con, rows, "export", exported, by, batch, "writeback", None, now)
        owner_csv = out / OWNER_FILE.format(batch=batch)
        log_csv = out / CHANGE_LOG_FILE.format(batch=batch)
        if owner_csv.exists() or log_csv.exists():
            raise WritebackError(f"{owner_csv} already exists: refusing to overwrite an export")
        out.mkdir(parents=True, exist_ok=True)
        _write_atomically(_owner_frame(changes), owner_csv)
        written.append(owner_csv)
        _write_atomically(_log_frame(changes), log_csv)
        written.append(log_csv)
        con.commit()
    except Exception:
        con.rollback()
        for path in written:  # no file for changes that are not marked exported
            path.unlink(missing_ok=True)
        raise
    ids = tuple(changes["proposal_id"].to_list())
    return WritebackResult(batch, changes.height, owner_csv, log_csv, ids)
