"""Push the approved changes that are due into the CRM, record what it said, mark what it took.

What is sent is exactly :func:`territory_ops.planning.due.due_changes` — account owners, and
deal owners as the holdover policy says — less what the CRM already applied (so a second run
sends nothing twice). Per object the channel (Salesforce Bulk API 2.0, HubSpot batch update)
opens a job, the job and its records are written to ``crm.push_jobs`` / ``crm.push_records``
**before** any data leaves, and the CRM's answer is recorded per record:

* applied — the change is marked ``applied`` with the job id (territory_ops.crm.marking);
* failed — it stays ``approved`` with the CRM's error code and message and is sent again by
  the next push; a row lock (``UNABLE_TO_LOCK_ROW``) is retried at once, with backoff;
* unprocessed — the CRM never got to it (the job stopped): sent again like a failure.

A push that died after its upload leaves its job open in the ledger; the next push asks the
CRM for that job's results (never uploading it again) before it sends anything new.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import duckdb
import polars as pl

from territory_ops.crm import ledger
from territory_ops.crm.errors import CrmPushError, JobRefused
from territory_ops.crm.marking import mark_applied
from territory_ops.planning.due import due_changes

log = logging.getLogger(__name__)

OBJECTS = ("Account", "Opportunity")  # accounts first: a deal follows its account
LOCK_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW"})  # another transaction held the row: retry now
EXAMPLES_PER_ERROR = 3


@dataclass(frozen=True)
class Outcome:
    """The CRM's answer for one record of a job."""

    record_id: str
    outcome: str  # applied | failed | unprocessed
    error_code: str | None = None
    error_message: str | None = None


class PushChannel(Protocol):
    """One CRM's way of taking owner changes (Salesforce Bulk API 2.0, HubSpot batch update)."""

    crm: str

    def open_job(self, sobject: str) -> str:
        """A new job or request id for ``sobject``; no record is sent yet."""

    def send(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        """Send ``record_id``/``owner_id`` rows in the job and return an answer per record.

        Raises CrmPushError when the CRM could not be reached or refused the whole job."""

    def recover(self, job_id: str, sobject: str, records: pl.DataFrame) -> list[Outcome]:
        """The answers of a job an interrupted push recorded, without sending it again."""


@dataclass
class PushReport:
    crm: str
    push_id: str
    as_of: date
    sent: int = 0
    applied_records: int = 0
    applied_changes: list[dict] = field(default_factory=list)  # proposals marked applied
    failures: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={
                "object": pl.String,
                "record_id": pl.String,
                "owner_id": pl.String,
                "error_code": pl.String,
                "error_message": pl.String,
            }
        )
    )
    later: int = 0
    recovered_jobs: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    refused: str | None = None  # the CRM could not be reached or refused a whole job

    @property
    def anything_happened(self) -> bool:
        return bool(self.sent or self.recovered_jobs or self.refused)

    @property
    def failed(self) -> int:
        return self.failures.height

    @property
    def all_rejected(self) -> bool:
        """Records went out and the CRM took none of them."""
        return self.sent > 0 and self.applied_records == 0 and self.failed > 0

    def failed_by_code(self) -> dict[str, int]:
        return dict(Counter(self.failures["error_code"].to_list()).most_common())

    def examples(self, code: str, n: int = EXAMPLES_PER_ERROR) -> list[dict]:
        return self.failures.filter(pl.col("error_code") == code).head(n).to_dicts()

    def lines(self) -> list[str]:
        """What the push did, for the console and the RevOps summary."""
        out = [
            f"applied: {len(self.applied_changes)} change(s) ({self.applied_records} record(s)"
            f" in {len(self.job_ids)} job(s))",
            f"failed: {self.failed} record(s), kept approved and sent again by the next push",
        ]
        for code, n in self.failed_by_code().items():
            examples = ", ".join(
                f"{e['object']} {e['record_id']} → {e['owner_id']}" for e in self.examples(code)
            )
            message = self.examples(code, 1)[0]["error_message"] or ""
            out.append(f"  {code} × {n}: {message} (e.g. {examples})")
        out.append(f"left for later (not yet effective): {self.later} change(s)")
        if self.recovered_jobs:
            out.append(
                f"recovered the results of {len(self.recovered_jobs)} job(s) an interrupted push"
                f" left: {', '.join(self.recovered_jobs)}"
            )
        return out


def records_to_send(con: duckdb.DuckDBPyConnection, crm: str, sobject: str, as_of: date):
    """``(frame of SEND_COLUMNS, changes left for later)`` of ``sobject`` due as of the day.

    Account moves still approved; deal transfers of moves already delivered (pending, failed
    or with an ended holdover in the deal ledger) — a deal of a move still approved waits for
    its account. Records the CRM already applied with the same owner are left out.
    """
    due = due_changes(con, as_of)
    if sobject == "Account":
        frame = due.accounts.select(
            pl.col("account_id").alias("record_id"),
            pl.col("to_rep_id").alias("owner_id"),
            "proposal_id",
            "run_id",
            pl.lit(None, pl.String).alias("transfer_id"),
        )
    else:
        frame = due.opportunities.filter(
            ~pl.col("proposal_id").is_in(due.accounts["proposal_id"].to_list())
        ).select(
            pl.col("opportunity_id").alias("record_id"),
            pl.col("to_owner_id").alias("owner_id"),
            "proposal_id",
            pl.lit(None, pl.String).alias("run_id"),
            "transfer_id",
        )
    done = ledger.applied_records(con, crm).filter(pl.col("object") == sobject)
    frame = (
        frame.select(pl.col(c).cast(t) for c, t in ledger.SEND_COLUMNS.items())
        .filter(pl.col("record_id").is_not_null() & pl.col("owner_id").is_not_null())
        .unique(["record_id", "owner_id"], keep="first", maintain_order=True)
        .join(done.select("record_id", "owner_id"), on=["record_id", "owner_id"], how="anti")
    )
    return frame, due.later.height


def _outcome_rows(outcomes: list[Outcome]) -> list[dict]:
    return [
        {
            "record_id": o.record_id,
            "outcome": o.outcome,
            "error_code": o.error_code,
            "error_message": o.error_message,
        }
        for o in outcomes
    ]


def _run_job(
    con: duckdb.DuckDBPyConnection,
    channel: PushChannel,
    push_id: str,
    sobject: str,
    records: pl.DataFrame,
    report: PushReport,
) -> list[Outcome]:
    job_id = channel.open_job(sobject)
    ledger.record_job(con, job_id, push_id, channel.crm, sobject, records)  # before the upload
    report.job_ids.append(job_id)
    try:
        outcomes = channel.send(job_id, sobject, records)
    except JobRefused as err:
        ledger.record_outcomes(con, job_id, _outcome_rows(err.outcomes))
        ledger.set_job_state(con, job_id, "finished", error=str(err))
        report.sent += records.height
        report.applied_records += sum(o.outcome == "applied" for o in err.outcomes)
        raise
    except CrmPushError as err:
        # the records stay 'sent' in an open job: the next push polls it, never re-uploads
        ledger.set_job_state(con, job_id, "uploaded", error=str(err))
        raise
    ledger.record_outcomes(con, job_id, _outcome_rows(outcomes))
    ledger.set_job_state(con, job_id, "finished")
    report.sent += records.height
    return outcomes


def _recover(con: duckdb.DuckDBPyConnection, channel: PushChannel, report: PushReport) -> None:
    for job in ledger.open_jobs(con, channel.crm).to_dicts():
        records = ledger.job_records(con, job["job_id"])
        outcomes = channel.recover(job["job_id"], job["object"], records)
        ledger.record_outcomes(con, job["job_id"], _outcome_rows(outcomes))
        ledger.set_job_state(con, job["job_id"], "finished")
        report.recovered_jobs.append(job["job_id"])
        report.applied_records += sum(o.outcome == "applied" for o in outcomes)
        log.info("recovered CRM job %s: %s", job["job_id"], Counter(o.outcome for o in outcomes))


def push_due(
    con: duckdb.DuckDBPyConnection,
    channel: PushChannel,
    as_of: date,
    *,
    by: str = "territory-ops crm push",
    lock_retries: int = 3,
    first_wait_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PushReport:
    """Push what is due as of ``as_of`` through ``channel`` (see module doc); the report.

    When the CRM could not be reached or refused a whole job, ``report.refused`` says why:
    what it applied before is marked, the rest stays approved for the next push.
    """
    push_id = f"push-{uuid.uuid4().hex[:12]}"
    report = PushReport(channel.crm, push_id, as_of)
    ledger.start_push(con, push_id, channel.crm, as_of)
    outcome = "error"
    failures: list[dict] = []
    sobject, records = OBJECTS[0], pl.DataFrame()

    def mark() -> None:
        report.applied_changes += mark_applied(
            con, channel.crm, as_of, by=by, failed_in_jobs=report.job_ids + report.recovered_jobs
        )

    try:
        _recover(con, channel, report)
        mark()
        for sobject in OBJECTS:  # a deal is sent once its account move is delivered
            records, report.later = records_to_send(con, channel.crm, sobject, as_of)
            attempt = 0
            while records.height:
                outcomes = _run_job(con, channel, push_id, sobject, records, report)
                report.applied_records += sum(o.outcome == "applied" for o in outcomes)
                locked = {o.record_id for o in outcomes if o.error_code in LOCK_ERRORS}
                settled = [o for o in outcomes if o.outcome != "applied"]
                if locked and attempt < lock_retries:
                    settled = [o for o in settled if o.record_id not in locked]
                failures += _failure_rows(sobject, records, settled)
                if not locked or attempt >= lock_retries:
                    break
                wait = first_wait_s * 2**attempt
                log.warning("%d record(s) locked; sending them again in %.1fs", len(locked), wait)
                sleep(wait)
                attempt += 1
                records = records.filter(pl.col("record_id").is_in(list(locked)))
            mark()
        outcome = "answered"
    except CrmPushError as err:
        report.refused, outcome = str(err), "refused"
        if isinstance(err, JobRefused):
            not_applied = [o for o in err.outcomes if o.outcome != "applied"]
            failures += _failure_rows(sobject, records, not_applied)
        mark()
    finally:
        if failures:
            report.failures = pl.DataFrame(failures, schema=report.failures.schema)
        if outcome == "answered" and report.all_rejected:
            outcome = "rejected"
        ledger.finish_push(
            con, push_id, len(report.applied_changes), report.failed, report.later, outcome
        )
    return report


def _failure_rows(sobject: str, records: pl.DataFrame, outcomes: list[Outcome]) -> list[dict]:
    owners = dict(zip(records["record_id"], records["owner_id"], strict=True))
    return [
        {
            "object": sobject,
            "record_id": o.record_id,
            "owner_id": owners.get(o.record_id),
            "error_code": o.error_code or ("UNPROCESSED" if o.outcome == "unprocessed" else ""),
            "error_message": o.error_message
            or ("the CRM did not process the record" if o.outcome == "unprocessed" else ""),
        }
        for o in outcomes
    ]
