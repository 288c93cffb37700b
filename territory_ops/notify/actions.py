"""What happens when a manager clicks Approve / Reject in a digest (the endpoint's library part).

``handle_interaction`` takes the raw request (body + headers) and returns the HTTP answer for
Slack. It refuses anything unsigned, forged, stale or replayed before touching the warehouse;
accepts clicks only on a digest this app sent (found in ``notify.outbox`` by channel + ts) and
only for proposals that message offered; records the decision as made by the clicking Slack
user (channel ``slack``) within that user's decision rights (the org chart's Slack id, or the
manager a direct message went to; :mod:`territory_ops.planning.rights`); and updates the
message so it shows what was decided. A click by someone without the right changes nothing:
the user alone gets a reply (``chat.postEphemeral``) saying who may decide. When the
warehouse is held by a running pass for longer than the wait, the verified click is queued in a
file and applied by ``drain_queued_clicks`` later — never lost. The HTTP server around it
(``territory-ops serve-actions``) is separate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from territory_ops.notify.interactions import (
    Interaction,
    ReplayGuard,
    parse_interaction,
    verify_interaction,
)
from territory_ops.notify.manager_blocks import mark_decided
from territory_ops.notify.model import ACTION_APPROVE, ACTION_APPROVE_ALL, ACTION_REJECT
from territory_ops.notify.sender import DeliveryError, DigestSender
from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import WarehouseBusy, utc_now
from territory_ops.writeback.decisions import (
    DecisionRefused,
    DecisionRights,
    NoDecisionRight,
    decide,
    decision_rights,
    not_yet_approved_by,
)

log = logging.getLogger(__name__)
QUEUE_FILE = "queued_clicks.jsonl"
_ACTIONS = {ACTION_APPROVE: "approve", ACTION_REJECT: "reject", ACTION_APPROVE_ALL: "approve"}
_PAST = {"approve": "Approved", "reject": "Rejected", "appeal": "Appealed", "export": "Exported"}


@dataclass(frozen=True)
class ActionResult:
    status: int  # HTTP status to answer Slack with
    message: str  # what happened, safe to log and to show the user
    decided: tuple[str, ...] = ()


def handle_interaction(
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    signing_secret: str,
    replay_guard: ReplayGuard,
    connect: Callable[[], duckdb.DuckDBPyConnection],
    sender: DigestSender | None,
    queue_dir: Path | None = None,
    now: datetime | None = None,
) -> ActionResult:
    """Verify, decide and update the message; never raises for a bad request."""
    verdict = verify_interaction(signing_secret, body, headers, replay_guard=replay_guard)
    if not verdict.ok:
        log.warning("Slack interaction refused: %s", verdict.reason)
        return ActionResult(401, f"refused: {verdict.reason}")
    try:
        clicks = parse_interaction(body)
    except (ValueError, json.JSONDecodeError) as err:
        log.warning("Slack interaction unreadable: %s", err)
        return ActionResult(400, f"unreadable interaction: {err}")
    clicks = [c for c in clicks if c.action_id in _ACTIONS]
    if not clicks:
        return ActionResult(200, "nothing to decide")
    try:
        con = connect()
    except WarehouseBusy as err:
        if queue_dir is None:
            return ActionResult(503, str(err))
        for click in clicks:
            queue_click(queue_dir, click, now)
        return ActionResult(200, "the warehouse is busy (a pass is running): decision queued")
    except Exception as err:  # the endpoint answers 500; Slack shows the user an error
        log.error("warehouse unavailable for a decision: %s", err)
        return ActionResult(500, f"warehouse unavailable: {type(err).__name__}")
    try:
        results = [apply_click(con, click, sender, now) for click in clicks]
    finally:
        con.close()
    decided = tuple(pid for r in results for pid in r.decided)
    status = max(r.status for r in results)
    return ActionResult(status, "; ".join(r.message for r in results), decided)


def _message_row(con: duckdb.DuckDBPyConnection, click: Interaction) -> tuple | None:
    return con.execute(
        "select recipient_key, proposal_ids, text, blocks_json from notify.outbox "
        "where slack_channel = ? and slack_ts = ? and status = 'sent' "
        "order by sent_at desc limit 1",
        [click.channel_id, click.message_ts],
    ).fetchone()


def _open_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[str]:
    rows = con.execute(
        "select distinct proposal_id from plans.proposals where status = ? "
        "and list_contains(?, proposal_id)",
        [ProposalStatus.OPEN, ids],
    ).fetchall()
    open_ids = {r[0] for r in rows}
    return [pid for pid in ids if pid in open_ids]


def apply_click(
    con: duckdb.DuckDBPyConnection,
    click: Interaction,
    sender: DigestSender | None,
    now: datetime | None = None,
) -> ActionResult:
    """Record one verified click as a decision and refresh the message it came from."""
    row = _message_row(con, click)
    if row is None:
        log.warning("click on an unknown message %s/%s refused", click.channel_id, click.message_ts)
        return ActionResult(403, "this message is not a digest this app sent")
    recipient_key, offered, text, blocks_json = row
    offered = list(offered or [])
    action = _ACTIONS[click.action_id]
    who = click.slack_user_name or click.slack_user_id
    try:
        rights = _click_rights(con, click, recipient_key)
    except NoDecisionRight as err:
        return _no_right(click, sender, err)
    if click.action_id == ACTION_APPROVE_ALL:
        ids = not_yet_approved_by(con, _open_ids(con, offered), rights)
        if not ids:
            return ActionResult(200, "every change in this message is already decided")
    else:
        ids = list(click.proposal_ids)
        if not ids or not set(ids) <= set(offered):
            log.warning("click for proposals not in message to %s refused", recipient_key)
            return ActionResult(403, "this message did not offer that proposal")
    picked = click.effective_on if click.action_id == ACTION_APPROVE else None
    try:
        effective = date.fromisoformat(picked) if picked else None
    except ValueError:
        return ActionResult(400, f"unreadable date {picked!r} in the date picker")
    try:
        decided = decide(
            con,
            ids,
            action,  # type: ignore[arg-type]
            by=who,
            note=f"in Slack ({click.action_id})",
            channel="slack",
            slack_user_id=click.slack_user_id,
            now=now or utc_now(),
            effective=effective,
            rights=rights,
        )
    except NoDecisionRight as err:
        return _no_right(click, sender, err)
    except DecisionRefused as err:
        log.info("decision refused: %s", err)
        return ActionResult(200, str(err))
    _refresh_message(con, click, sender, offered, text, json.loads(blocks_json), rights)
    done = ", ".join(
        d.proposal_id + (f" (waiting for {d.waiting_for})" if d.waiting_for else "")
        for d in decided
    )
    return ActionResult(
        200, f"{_PAST[action]} by {who}: {done}", tuple(d.proposal_id for d in decided)
    )


def _click_rights(
    con: duckdb.DuckDBPyConnection, click: Interaction, recipient_key: str
) -> DecisionRights:
    """Whose click this is: the org chart user (or RevOps) with the clicking Slack id; else,
    in a direct message (channel id ``D…``, where only its recipient can click), the manager
    it went to, unless the chart gives that manager another Slack id. Raises
    NoDecisionRight when neither fits."""
    try:
        return decision_rights(con, slack_user_id=click.slack_user_id)
    except NoDecisionRight:
        in_dm = bool(click.channel_id and click.channel_id.startswith("D"))
        if not (in_dm and recipient_key.startswith("manager:")):
            raise
    rights = decision_rights(con, by=recipient_key.split(":", 1)[1])
    known = rights.actor.user_id and rights.chart.node(rights.actor.user_id).slack_user_id
    if known and known != click.slack_user_id:
        return decision_rights(con, slack_user_id=click.slack_user_id)  # raises: not them
    return rights


def _no_right(
    click: Interaction, sender: DigestSender | None, err: DecisionRefused
) -> ActionResult:
    """Nothing changes; the clicking user alone is told why and who may decide."""
    reasons = "; ".join(err.reasons.values())
    reply = f"Nothing was changed: {reasons}"
    log.info("click without the right by %s: %s", click.slack_user_id, reasons)
    if sender is not None and click.channel_id:
        try:
            sender.tell(click.channel_id, click.slack_user_id, reply)
        except DeliveryError as failed:
            log.warning("could not reply to the click: %s", sender.scrub(str(failed)))
    return ActionResult(200, reply)  # answered: Slack shows no error, the reply says why


def _refresh_message(
    con: duckdb.DuckDBPyConnection,
    click: Interaction,
    sender: DigestSender | None,
    offered: list[str],
    text: str,
    blocks: list,
    rights: DecisionRights | None = None,
) -> None:
    """Show every decision made on this message's proposals (from the audit log); "approve
    all" goes when nothing is left that the clicking manager still has to approve."""
    if sender is None or not click.channel_id or not click.message_ts:
        return
    rows = con.execute(
        "select proposal_id, action, decided_by, decided_at, status_before, status_after, note "
        "from plans.decisions where list_contains(?, proposal_id) "
        "and action not in ('export', 'escalate') "
        "qualify row_number() over (partition by proposal_id "
        "order by decided_at desc, decision_id desc) = 1",
        [offered],
    ).fetchall()
    outcomes = {
        pid: f"{_PAST.get(action, action)} by {by}, {at:%Y-%m-%d %H:%M} UTC"
        + (f"; {_waiting(note)}" if before == after and action == "approve" else "")
        for pid, action, by, at, before, after, note in rows
    }
    still_open = _open_ids(con, offered)
    if rights is not None and still_open:
        still_open = not_yet_approved_by(con, still_open, rights)
    all_decided = not still_open
    try:
        sender.update(
            click.channel_id,
            click.message_ts,
            text,
            mark_decided(blocks, outcomes, all_decided=all_decided),
        )
    except DeliveryError as err:  # the decision stands; the message just stays as it was
        log.warning("could not update the digest message: %s", sender.scrub(str(err)))


def _waiting(note: str | None) -> str:
    """ "waiting for …" from a first approval's note."""
    text = note or ""
    return text[text.find("waiting for") :] if "waiting for" in text else "waiting"


def queue_click(queue_dir: Path, click: Interaction, now: datetime | None = None) -> Path:
    """Append a verified click to the queue file (no secret in it: the click only)."""
    queue_dir.mkdir(parents=True, exist_ok=True)
    path = queue_dir / QUEUE_FILE
    record = asdict(click) | {"queued_at": (now or utc_now()).isoformat()}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return path


def drain_queued_clicks(
    con: duckdb.DuckDBPyConnection,
    sender: DigestSender | None,
    queue_dir: Path,
    now: datetime | None = None,
) -> list[ActionResult]:
    """Apply queued clicks in order, then empty the queue (a refused one is logged, not kept)."""
    path = queue_dir / QUEUE_FILE
    working = path.with_name(path.name + ".draining")
    if not working.exists():  # else: a drain was interrupted; finish it first
        if not path.exists():
            return []
        path.replace(working)  # new clicks go to a fresh file meanwhile
    results = []
    for line in working.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        data.pop("queued_at", None)
        data["proposal_ids"] = tuple(data["proposal_ids"])
        results.append(apply_click(con, Interaction(**data), sender, now))
    working.unlink()
    return results
