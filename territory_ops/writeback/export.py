"""CRM write-back: the changes due as of a day, as one batch folder of CRM import files.

:func:`export_due` writes exactly ``due_changes(con, as_of)`` (territory_ops.planning.due) —
approved account moves whose date has come, and their open deals as the holdover policy says —
as one folder ``<out>/<batch>/`` (``<batch>`` = the export's UTC time, ``YYYYMMDDTHHMMSSZ``):

* ``Account.csv`` — ``Id,OwnerId`` (a Salesforce Data Loader update file);
* ``Opportunity.csv`` — ``Id,OwnerId``: deals that move with their account, and held deals
  whose holdover has ended;
* ``AccountTeam.csv`` — ``AccountId,UserId,TeamMemberRole`` (written when the warehouse has
  overlay pods): the overlay reps of each moved account's new owner, and of every account of
  an AE whose pod changed, as of the day (``territory_ops.planning.account_team``);
* ``change_log.csv`` — one line per record: object, account, from, to, reason or holdover
  rule, the day it takes effect, who approved it and when, proposal and run.

The files go into a hidden sibling folder renamed to ``<batch>/`` at the end, so a reader sees
the whole batch or nothing. The changes are marked delivered (``mark_delivered``: proposals
``exported``, deal transfers ``exported``, audit-log lines) in the same transaction, committed
only after the rename: a crash while writing marks nothing, and what was not marked is due
again next time. A batch folder left by a crash between the rename and the commit (its batch
is not in ``plans.writeback_batches``) is moved aside to ``.<batch>.uncommitted`` by the next
export, which writes its changes again. Nothing is exported twice; an ``as_of`` earlier than
the last export's is refused. Every text cell is neutralised against spreadsheet formula
injection (``territory_ops.csv_safe``).
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.csv_safe import write_csv_safe
from territory_ops.planning.account_team import (
    AccountTeamDue,
    account_team_due,
    record_pods_delivered,
)
from territory_ops.planning.due import DueChanges, due_changes, holdover_policy
from territory_ops.planning.holdover import HoldoverPolicy
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import query_frame, table_exists, utc_now
from territory_ops.writeback.delivery import ensure_delivery_tables, mark_delivered

ACCOUNT_FILE = "Account.csv"
OPPORTUNITY_FILE = "Opportunity.csv"
ACCOUNT_TEAM_FILE = "AccountTeam.csv"
CHANGE_LOG_FILE = "change_log.csv"
BATCH_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")
CHANNEL = "writeback"

_BATCHES_DDL = """
create table if not exists plans.writeback_batches (
    batch_id varchar not null,
    as_of date not null,
    exported_at timestamp not null,
    exported_by varchar not null,
    accounts integer not null,
    opportunities integer not null,
    folder varchar not null
)
"""

_LOG_COLUMNS = (
    "object",
    "record_id",
    "account_id",
    "account_name",
    "from_rep_id",
    "from_rep_name",
    "to_rep_id",
    "to_rep_name",
    "reason_code",
    "reason",
    "effective_on",
    "is_temporary",
    "temporary_until",
    "stage",
    "amount",
    "approved_by",
    "approved_at",
    "proposal_id",
    "run_id",
)


class WritebackError(RuntimeError):
    """The due changes cannot be exported as they are; nothing was written or marked."""


@dataclass(frozen=True)
class WritebackResult:
    batch_id: str
    as_of: date
    rows: int  # account changes exported
    deals: int  # deal owner changes exported
    folder: Path | None  # None when nothing was due
    proposal_ids: tuple[str, ...]
    held: int = 0  # deals of the exported moves left with the old owner for now
    waiting: int = 0  # approved changes whose date has not come
    set_aside: tuple[Path, ...] = ()  # uncommitted folders of a crashed export, moved aside
    team_members: int = 0  # account-team rows exported (overlay reps on accounts)

    @property
    def account_team_csv(self) -> Path | None:
        path = self.folder / ACCOUNT_TEAM_FILE if self.folder else None
        return path if path is not None and path.exists() else None

    @property
    def owner_csv(self) -> Path | None:
        return self.folder / ACCOUNT_FILE if self.folder else None

    @property
    def opportunity_csv(self) -> Path | None:
        return self.folder / OPPORTUNITY_FILE if self.folder else None

    @property
    def change_log_csv(self) -> Path | None:
        return self.folder / CHANGE_LOG_FILE if self.folder else None

    def summary(self) -> str:
        wait = f"; {self.waiting} approved change(s) wait for their date" if self.waiting else ""
        if self.folder is None:
            return f"nothing due as of {self.as_of}{wait}"
        held = f"; {self.held} deal(s) stay with their old owner for now" if self.held else ""
        team = f", {self.team_members} account-team member(s)" if self.team_members else ""
        return (
            f"{self.rows} account and {self.deals} opportunity owner change(s){team} due as of "
            f"{self.as_of} exported to {self.folder}{held}{wait}"
        )


def _check(due: DueChanges) -> None:
    """Refuse (naming examples) what the CRM would reject or what would be ambiguous."""
    changes = due.accounts
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


def _last_export(con: duckdb.DuckDBPyConnection) -> tuple[str, date] | None:
    row = con.execute(
        "select batch_id, as_of from plans.writeback_batches order by as_of desc, batch_id desc "
        "limit 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def _proposal_details(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pl.DataFrame:
    """Names and reasons of the account moves that deals follow (any status: a held deal's
    move was exported in an earlier batch)."""
    schema = {
        "proposal_id": pl.String,
        "account_name": pl.String,
        "from_rep_name": pl.String,
        "to_rep_name": pl.String,
        "move_to_rep_id": pl.String,
        "run_id": pl.String,
    }
    if not ids or not table_exists(con, "plans", "proposals"):
        return pl.DataFrame(schema=schema)
    frame = query_frame(
        con,
        "select proposal_id, any_value(account_name) as account_name, "
        "any_value(from_rep_name) as from_rep_name, any_value(to_rep_name) as to_rep_name, "
        "any_value(to_rep_id) as move_to_rep_id, any_value(run_id) as run_id "
        "from plans.proposals where list_contains(?, proposal_id) group by proposal_id",
        [ids],
    )
    return frame.select(pl.col(c).cast(t) for c, t in schema.items())


def _team_log(team: AccountTeamDue, as_of: str) -> pl.DataFrame:
    """One change-log line per account-team member: the overlay put on the account, why."""
    return team.rows.select(
        object=pl.lit("AccountTeamMember"),
        record_id="overlay_id",
        account_id="account_id",
        account_name=pl.lit(""),
        from_rep_id=pl.lit(""),
        from_rep_name=pl.lit(""),
        to_rep_id="overlay_id",
        to_rep_name=pl.lit(""),
        reason_code=pl.lit("overlay"),
        reason=pl.format(
            "{} of account executive {} ({})", "team_member_role", "account_executive_id", "cause"
        ),
        effective_on=pl.lit(as_of),
        is_temporary=pl.lit("false"),
        temporary_until=pl.lit(""),
        stage=pl.lit(""),
        amount=pl.lit(None, pl.Float64),
        approved_by=pl.lit(""),
        approved_at=pl.lit(""),
        proposal_id=pl.lit(""),
        run_id=pl.col("run_id").fill_null(""),
    )


def _log_frame(
    con: duckdb.DuckDBPyConnection, due: DueChanges, team: AccountTeamDue | None = None
) -> pl.DataFrame:
    accounts = due.accounts.select(
        object=pl.lit("Account"),
        record_id="account_id",
        account_id="account_id",
        account_name="account_name",
        from_rep_id=pl.col("from_rep_id").fill_null(""),
        from_rep_name=pl.col("from_rep_name").fill_null(""),
        to_rep_id="to_rep_id",
        to_rep_name="to_rep_name",
        reason_code="reason_code",
        reason="reason",
        effective_on=pl.col("effective_on").cast(pl.String).fill_null("at once"),
        is_temporary=pl.col("is_temporary").cast(pl.String),
        temporary_until=pl.col("temporary_until").cast(pl.String).fill_null(""),
        stage=pl.lit(""),
        amount=pl.lit(None, pl.Float64),
        approved_by="approved_by",
        approved_at=pl.col("approved_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        proposal_id="proposal_id",
        run_id="run_id",
    )
    deals = due.opportunities.join(
        _proposal_details(con, due.opportunities["proposal_id"].unique().to_list()),
        on="proposal_id",
        how="left",
    )
    same_target = pl.col("to_owner_id") == pl.col("move_to_rep_id")
    deals = deals.select(
        object=pl.lit("Opportunity"),
        record_id="opportunity_id",
        account_id="account_id",
        account_name=pl.col("account_name").fill_null(""),
        from_rep_id="from_owner_id",
        from_rep_name=pl.col("from_rep_name").fill_null(""),
        to_rep_id="to_owner_id",
        to_rep_name=pl.when(same_target).then(pl.col("to_rep_name")).otherwise(pl.lit("")),
        reason_code=pl.lit("deal"),
        reason=pl.format("{}: {}", "rule", pl.col("opportunity_name").fill_null("")),
        effective_on=pl.col("due_on").cast(pl.String),
        is_temporary=pl.lit("false"),
        temporary_until=pl.lit(""),
        stage=pl.col("stage").fill_null(""),
        amount="amount",
        approved_by=pl.lit(""),
        approved_at=pl.lit(""),
        proposal_id="proposal_id",
        run_id=pl.col("run_id").fill_null(""),
    )
    frames = [accounts, deals]
    if team is not None and team.rows.height:
        frames.append(_team_log(team, due.as_of.isoformat() if due.as_of else ""))
    return pl.concat(frames, how="vertical_relaxed").select(_LOG_COLUMNS)


def _owner_frame(frame: pl.DataFrame, record: str, owner: str) -> pl.DataFrame:
    return frame.select(pl.col(record).alias("Id"), pl.col(owner).alias("OwnerId"))


def _set_aside_uncommitted(con: duckdb.DuckDBPyConnection, out: Path) -> tuple[Path, ...]:
    """Batch folders no export committed (a crash after the rename): moved out of readers'
    sight, their changes are still due and go out again."""
    if not out.is_dir():
        return ()
    recorded = {
        b for (b,) in con.execute("select batch_id from plans.writeback_batches").fetchall()
    }
    moved = []
    for folder in sorted(out.iterdir()):
        if folder.is_dir() and BATCH_PATTERN.match(folder.name) and folder.name not in recorded:
            target = folder.with_name(f".{folder.name}.uncommitted")
            folder.rename(target)
            moved.append(target)
    return tuple(moved)


def _write_batch(folder: Path, due: DueChanges, log: pl.DataFrame, team: AccountTeamDue) -> None:
    """The batch folder, whole or not at all."""
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        write_csv_safe(
            _owner_frame(due.accounts, "account_id", "to_rep_id"), staging / ACCOUNT_FILE
        )
        write_csv_safe(
            _owner_frame(due.opportunities, "opportunity_id", "to_owner_id"),
            staging / OPPORTUNITY_FILE,
        )
        if team.has_pods:
            write_csv_safe(team.file_frame(), staging / ACCOUNT_TEAM_FILE)
        write_csv_safe(log, staging / CHANGE_LOG_FILE)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def export_due(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    as_of: date | None = None,
    by: str = "territory-ops writeback",
    now: datetime | None = None,
    policy: HoldoverPolicy | None = None,
) -> WritebackResult:
    """Write the changes due as of ``as_of`` (default: today, UTC) as one batch folder and mark
    them exported; nothing twice, nothing marked without its file (see module doc)."""
    now = now or utc_now()
    as_of = as_of or now.date()
    policy = policy or holdover_policy()  # a bad policy fails before anything is read
    batch = now.strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    folder = out / batch
    ensure_delivery_tables(con)
    con.execute(_BATCHES_DDL)
    con.begin()
    try:
        last = _last_export(con)
        if last and as_of < last[1]:
            raise WritebackError(
                f"--as-of {as_of} is before the last export's date {last[1]} (batch {last[0]}): "
                "changes due by then were already exported; export as of that day or later"
            )
        set_aside = _set_aside_uncommitted(con, out)
        due = due_changes(con, as_of, policy=policy)
        team = account_team_due(con, as_of, due.accounts)
        if due.empty and team.empty:
            con.rollback()
            return WritebackResult(
                batch, as_of, 0, 0, None, (), waiting=due.later.height, set_aside=set_aside
            )
        _check(due)
        if folder.exists():
            raise WritebackError(f"{folder} already exists: refusing to overwrite an export")
        delivered = mark_delivered(
            con,
            due.accounts,
            due.opportunities,
            ProposalStatus.EXPORTED,
            batch,
            by,
            CHANNEL,
            now,
            policy=policy,
            in_transaction=True,
        )
        record_pods_delivered(con, team, batch, now)
        con.execute(
            "insert into plans.writeback_batches values (?, ?, ?, ?, ?, ?, ?)",
            [batch, as_of, now, by, due.accounts.height, due.opportunities.height, str(folder)],
        )
        _write_batch(folder, due, _log_frame(con, due, team), team)
        try:
            con.commit()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing marked: no file either
            raise
    except BaseException:
        with suppress(duckdb.TransactionException):  # a failed commit rolled back already
            con.rollback()
        raise
    return WritebackResult(
        batch,
        as_of,
        due.accounts.height,
        due.opportunities.height,
        folder,
        tuple(due.accounts["proposal_id"].to_list()),
        held=delivered.held,
        waiting=due.later.height,
        set_aside=set_aside,
        team_members=team.rows.height,
    )


def export_approved(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    by: str = "territory-ops writeback",
    now: datetime | None = None,
    as_of: date | None = None,
) -> WritebackResult:
    """:func:`export_due` as of ``as_of`` (default: today): the approved changes that are due."""
    return export_due(con, out_dir, as_of=as_of, by=by, now=now)
