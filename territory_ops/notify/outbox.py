"""``notify.outbox``: every digest recorded before it is sent, so nothing posts twice or gets lost.

A digest's idempotency key hashes its snapshot, pass kind, recipient and content (run link
excluded). ``enqueue_digests`` records new keys as ``pending`` and ignores known ones, so a
retried step, a re-executed run or the same pass on the same snapshot posts nothing new.
``deliver_pending`` sends what is pending; a failure stays pending (attempts and the scrubbed
error recorded) for the next run, and nothing it does raises into the planning run.
``failed`` is kept for errors retrying cannot fix (no such Slack user); ``superseded`` for a
pending digest replaced by a newer one for the same recipient before it could be sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import polars as pl

from territory_ops.notify.digest import Digest, Recipient
from territory_ops.notify.sender import DeliveryError, DigestSender, scrub_secrets
from territory_ops.warehouse import query_frame

log = logging.getLogger(__name__)

OUTBOX_STATUSES = ("pending", "sent", "failed", "superseded")

_DDL = """
create table if not exists notify.outbox (
    idempotency_key varchar not null primary key,
    kind varchar not null,
    recipient_key varchar not null,
    recipient_name varchar,
    recipient_email varchar,
    recipient_slack_user_id varchar,
    recipient_channel varchar,
    snapshot_date date not null,
    pass_kind varchar not null,
    run_id varchar,
    run_url varchar,
    proposal_ids varchar[],
    text varchar not null,
    blocks_json varchar not null,
    status varchar not null,
    attempts integer not null,
    last_error varchar,
    created_at timestamp not null,
    updated_at timestamp not null,
    sent_at timestamp,
    delivered_via varchar,
    slack_channel varchar,
    slack_ts varchar
)
"""


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_outbox(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists notify")
    con.execute(_DDL)


@dataclass(frozen=True)
class EnqueueResult:
    new_keys: tuple[str, ...]
    known_keys: tuple[str, ...]  # already recorded: will not be posted again
    superseded_keys: tuple[str, ...] = ()


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # failed this time, retried next run
    failed: list[str] = field(default_factory=list)  # permanent errors, need a roster fix
    errors: dict[str, str] = field(default_factory=dict)  # key -> scrubbed error

    def summary(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.pending)} still pending, "
            f"{len(self.failed)} failed permanently"
        )


def enqueue_digests(
    con: duckdb.DuckDBPyConnection,
    digests: Iterable[Digest],
    *,
    now: datetime | None = None,
    supersede_pending: bool = False,
) -> EnqueueResult:
    """Record digests as pending unless their key is known; returns which were new.

    With ``supersede_pending``, a still-pending older digest of the same kind for the same
    recipient is marked ``superseded`` (its buttons would act on outdated proposals).
    """
    ensure_outbox(con)
    now = now or _utcnow()
    new, known, superseded = [], [], []
    con.begin()
    try:
        for digest in digests:
            key = digest.idempotency_key()
            exists = con.execute(
                "select count(*) from notify.outbox where idempotency_key = ?", [key]
            ).fetchone()
            if exists and exists[0]:
                known.append(key)
                continue
            if supersede_pending:
                superseded += _supersede(con, digest, key, now)
            _insert(con, digest, key, now)
            new.append(key)
        con.commit()
    except Exception:
        con.rollback()
        raise
    return EnqueueResult(tuple(new), tuple(known), tuple(superseded))


def _supersede(
    con: duckdb.DuckDBPyConnection, digest: Digest, key: str, now: datetime
) -> list[str]:
    rows = con.execute(
        "select idempotency_key from notify.outbox where status = 'pending' "
        "and recipient_key = ? and kind = ? and idempotency_key <> ?",
        [digest.recipient.key, digest.kind, key],
    ).fetchall()
    for (old,) in rows:
        con.execute(
            "update notify.outbox set status = 'superseded', updated_at = ?, last_error = ? "
            "where idempotency_key = ?",
            [now, f"superseded by {key[:12]}", old],
        )
    return [old for (old,) in rows]


def _insert(con: duckdb.DuckDBPyConnection, digest: Digest, key: str, now: datetime) -> None:
    r = digest.recipient
    con.execute(
        "insert into notify.outbox (idempotency_key, kind, recipient_key, recipient_name, "
        "recipient_email, recipient_slack_user_id, recipient_channel, snapshot_date, pass_kind, "
        "run_id, run_url, proposal_ids, text, blocks_json, status, attempts, created_at, "
        "updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        [
            key,
            digest.kind,
            r.key,
            r.name,
            r.email,
            r.slack_user_id,
            r.channel,
            digest.snapshot_date,
            digest.pass_kind,
            digest.run_id,
            digest.run_url,
            list(digest.proposal_ids),
            digest.text,
            json.dumps(digest.blocks, ensure_ascii=False),
            now,
            now,
        ],
    )


def _pending_rows(
    con: duckdb.DuckDBPyConnection, retry_failed: bool, kinds: Sequence[str] | None
) -> list[tuple]:
    statuses = ["pending", "failed"] if retry_failed else ["pending"]
    sql = (
        "select idempotency_key, recipient_key, recipient_name, recipient_email, "
        "recipient_slack_user_id, recipient_channel, text, blocks_json from notify.outbox "
        "where list_contains(?, status)"
    )
    params: list[object] = [statuses]
    if kinds:
        sql += " and list_contains(?, kind)"
        params.append(list(kinds))
    return con.execute(sql + " order by created_at, idempotency_key", params).fetchall()


def deliver_pending(
    con: duckdb.DuckDBPyConnection,
    sender: DigestSender,
    *,
    now: datetime | None = None,
    retry_failed: bool = False,
    kinds: Sequence[str] | None = None,
) -> DeliveryReport:
    """Send every pending digest once; never raises (a planning run must not fail on Slack)."""
    report = DeliveryReport()
    try:
        ensure_outbox(con)
        rows = _pending_rows(con, retry_failed, kinds)
    except Exception as err:  # the warehouse itself is unavailable: report, don't raise
        report.errors["*"] = scrub_secrets(f"outbox unavailable: {type(err).__name__}: {err}")
        log.warning("digest delivery skipped: %s", report.errors["*"])
        return report
    for key, rkey, name, email, slack_id, channel, text, blocks_json in rows:
        recipient = Recipient(rkey, name or rkey, email, slack_id, channel)
        _deliver_one(con, sender, key, recipient, text, json.loads(blocks_json), now, report)
    return report


def _deliver_one(
    con: duckdb.DuckDBPyConnection,
    sender: DigestSender,
    key: str,
    recipient: Recipient,
    text: str,
    blocks: list,
    now: datetime | None,
    report: DeliveryReport,
) -> None:
    try:
        receipt = sender.send(recipient, text, blocks, key=key)
    except Exception as err:
        permanent = isinstance(err, DeliveryError) and err.permanent
        message = sender.scrub(str(err) if isinstance(err, DeliveryError) else repr(err))
        report.errors[key] = message
        (report.failed if permanent else report.pending).append(key)
        log.warning("digest %s to %s not delivered: %s", key[:12], recipient.key, message)
        _record(
            con,
            "update notify.outbox set status = ?, attempts = attempts + 1, last_error = ?, "
            "updated_at = ? where idempotency_key = ?",
            ["failed" if permanent else "pending", message, now or _utcnow(), key],
            report,
            key,
        )
        return
    stamp = now or _utcnow()
    report.sent.append(key)
    _record(
        con,
        "update notify.outbox set status = 'sent', attempts = attempts + 1, last_error = null, "
        "updated_at = ?, sent_at = ?, delivered_via = ?, slack_channel = ?, slack_ts = ? "
        "where idempotency_key = ?",
        [stamp, stamp, receipt.via, receipt.channel, receipt.ts, key],
        report,
        key,
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object],
    report: DeliveryReport,
    key: str,
) -> None:
    try:
        con.execute(sql, params)
    except Exception as err:  # keep going; the report says what could not be recorded
        report.errors[key] = scrub_secrets(f"outbox update failed: {type(err).__name__}: {err}")
        log.warning("outbox update for %s failed: %s", key[:12], report.errors[key])


def outbox_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The outbox without message bodies, newest first (for metadata and the CLI)."""
    ensure_outbox(con)
    return query_frame(
        con,
        "select idempotency_key, kind, recipient_key, snapshot_date, pass_kind, run_id, status, "
        "attempts, last_error, created_at, sent_at, delivered_via, slack_channel, slack_ts "
        "from notify.outbox order by created_at desc, idempotency_key",
    )
