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

from territory_ops.notify.model import Digest, Recipient
from territory_ops.notify.sender import DeliveryError, DigestSender, Receipt, scrub_secrets
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
    replaces_key varchar,
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
    updated: list[str] = field(default_factory=list)  # sent by updating the pass's message
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
    update_sent: bool = True,
) -> EnqueueResult:
    """Record digests as pending unless their key is known; returns which were new.

    With ``update_sent`` (default), a new digest for a recipient who already got one for the
    same snapshot, pass kind and message kind replaces that message (``chat.update``) instead
    of posting a second one: one message per manager per pass, kept current.
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
            replaces = _sent_before(con, digest) if update_sent else None
            _insert(con, digest, key, now, replaces)
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


def _sent_before(con: duckdb.DuckDBPyConnection, digest: Digest) -> str | None:
    row = con.execute(
        "select idempotency_key from notify.outbox where status = 'sent' and recipient_key = ? "
        "and kind = ? and snapshot_date = ? and pass_kind = ? and slack_ts is not null "
        "order by sent_at desc, idempotency_key limit 1",
        [digest.recipient.key, digest.kind, digest.snapshot_date, digest.pass_kind],
    ).fetchone()
    return row[0] if row else None


def _insert(
    con: duckdb.DuckDBPyConnection,
    digest: Digest,
    key: str,
    now: datetime,
    replaces: str | None,
) -> None:
    r = digest.recipient
    con.execute(
        "insert into notify.outbox (idempotency_key, kind, recipient_key, recipient_name, "
        "recipient_email, recipient_slack_user_id, recipient_channel, snapshot_date, pass_kind, "
        "run_id, run_url, replaces_key, proposal_ids, text, blocks_json, status, attempts, "
        "created_at, updated_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
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
            replaces,
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
        "select o.idempotency_key, o.recipient_key, o.recipient_name, o.recipient_email, "
        "o.recipient_slack_user_id, o.recipient_channel, o.text, o.blocks_json, "
        "prev.delivered_via, prev.slack_channel, prev.slack_ts from notify.outbox o "
        "left join notify.outbox prev on prev.idempotency_key = o.replaces_key "
        "where list_contains(?, o.status)"
    )
    params: list[object] = [statuses]
    if kinds:
        sql += " and list_contains(?, o.kind)"
        params.append(list(kinds))
    return con.execute(sql + " order by o.created_at, o.idempotency_key", params).fetchall()


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
    for key, rkey, name, email, slack_id, channel, text, blocks_json, *previous in rows:
        recipient = Recipient(rkey, name or rkey, email, slack_id, channel)
        message = _Message(key, recipient, text, blocks_json, *previous)
        try:
            _deliver_one(con, sender, message, now, report)
        except Exception as err:  # e.g. a corrupt row: report it, go on with the others
            report.errors[key] = scrub_secrets(f"{type(err).__name__}: {err}")
            report.pending.append(key)
    return report


@dataclass(frozen=True)
class _Message:
    key: str
    recipient: Recipient
    text: str
    blocks_json: str
    previous_via: str | None  # the message this one replaces, when already delivered
    previous_channel: str | None
    previous_ts: str | None


def _send_or_update(sender: DigestSender, message: _Message) -> Receipt:
    """Update the earlier message of the same pass when there is one, else post a new one."""
    blocks = json.loads(message.blocks_json)
    if message.previous_ts and message.previous_channel and message.previous_via == sender.via:
        try:
            return sender.update(
                message.previous_channel, message.previous_ts, message.text, blocks
            )
        except DeliveryError as err:
            if not err.permanent:  # Slack is unreachable: stay pending, try again next run
                raise
            # permanent (the earlier message was deleted): post a new one below
    return sender.send(message.recipient, message.text, blocks, key=message.key)


def _deliver_one(
    con: duckdb.DuckDBPyConnection,
    sender: DigestSender,
    message: _Message,
    now: datetime | None,
    report: DeliveryReport,
) -> None:
    key, recipient = message.key, message.recipient
    try:
        receipt = _send_or_update(sender, message)
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
    if message.previous_ts == receipt.ts and message.previous_channel == receipt.channel:
        report.updated.append(key)
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


def latest_digest(con: duckdb.DuckDBPyConnection, kind: str) -> Digest | None:
    """The newest recorded digest of ``kind`` (e.g. a director's roll-up), as it was sent."""
    ensure_outbox(con)
    row = con.execute(
        "select kind, recipient_key, recipient_name, recipient_email, recipient_slack_user_id, "
        "recipient_channel, snapshot_date, pass_kind, run_id, text, blocks_json, proposal_ids, "
        "run_url from notify.outbox where kind = ? and status <> 'superseded' "
        "order by created_at desc, idempotency_key limit 1",
        [kind],
    ).fetchone()
    if row is None:
        return None
    kind, key, name, email, slack_id, channel, snap, pass_kind, run_id, text, blocks, *rest = row
    ids, run_url = rest
    return Digest(
        kind=kind,
        recipient=Recipient(key, name or key, email, slack_id, channel),
        snapshot_date=snap,
        pass_kind=pass_kind,
        run_id=run_id,
        text=text,
        blocks=tuple(json.loads(blocks)),
        proposal_ids=tuple(ids or ()),
        run_url=run_url,
    )


def outbox_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The outbox without message bodies, newest first (for metadata and the CLI)."""
    ensure_outbox(con)
    return query_frame(
        con,
        "select idempotency_key, kind, recipient_key, snapshot_date, pass_kind, run_id, status, "
        "attempts, last_error, created_at, sent_at, delivered_via, slack_channel, slack_ts "
        "from notify.outbox order by created_at desc, idempotency_key",
    )
